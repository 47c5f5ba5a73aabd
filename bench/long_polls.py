"""B7, long-polls held by one Signoff process: memory per waiter, and the time from a decision
to its waiters' answers.

Run by hand (it is not a test):

    .venv/bin/python -m bench.long_polls                # SQLite: 10,000 waiters on 1,000 requests
    .venv/bin/python -m bench.long_polls --database postgresql+asyncpg://postgres@127.0.0.1:5432/bench_polls

`signoff serve` runs in a process of its own (API v1 and Slack, cards to a Slack stand-in);
this process opens the requests, holds the waiters (`GET /api/v1/requests/{id}?wait=30` with
the ETag it last saw, asked again when a wait ends unchanged, as the CI client does), and
approves the first `--decide` requests by signed Slack clicks at a steady rate, as people
would. Memory per waiter is the growth of the server's resident set (VmRSS) from before the
waiters connect to when they are held and the server is idle (or two minutes have passed),
divided by the waiters then in flight. A waiter's latency runs from the
moment the click that decides its request is sent to the moment the waiter has its answer, so
it includes the click's own handling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from adapters.slack.signing import sign
from bench.api_serve import CARDS_PER_OPEN as CARDS
from bench.api_serve import (
    SLACK_SECRET,
    Served,
    cpu_seconds,
    open_body,
    percentile,
    raise_open_files,
    rss_bytes,
    signoff_serve,
    until_cards,
    until_idle,
)
from bench.held import measure_floor
from bench.local import stop_recording
from bot.server import settle_heap

WAIT = 30


@dataclass
class Waiters:
    """What the waiters saw: answers by request, re-polls, anything unexpected."""

    decided_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    answered: int = 0
    polls: int = 0
    in_flight: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def open_requests(http: aiohttp.ClientSession, served: Served, count: int) -> list[str]:
    """`count` requests opened through the API, ten at a time; their ids in order."""
    run = uuid.uuid4().hex[:8]
    ids: list[str] = [""] * count
    queue = list(range(count))

    async def worker() -> None:
        while queue:
            n = queue.pop()
            body = json.dumps(open_body(n, run)).encode()
            url = f"{served.base}/api/v1/requests"
            async with http.post(url, data=body, headers=served.headers(f"{run}-{n}")) as r:
                assert r.status == 201, await r.text()
                ids[n] = (await r.json())["id"]

    await asyncio.gather(*(worker() for _ in range(10)))
    return ids


async def wait_for(
    http: aiohttp.ClientSession, served: Served, request_id: str, seen: Waiters
) -> None:
    """One waiter: long-poll until the request is decided, as the CI client does."""
    url = f"{served.base}/api/v1/requests/{request_id}?wait={WAIT}"
    tag = ""
    seen.in_flight += 1
    try:
        while True:
            headers = {"Authorization": f"Bearer {served.token}"}
            if tag:
                headers["If-None-Match"] = tag
            seen.polls += 1
            async with http.get(url, headers=headers) as answer:
                if answer.status == 304:
                    continue
                view = await answer.json()
                if answer.status != 200:
                    key = f"{answer.status} {view.get('type', '')}"
                    seen.errors[key] = seen.errors.get(key, 0) + 1
                    await asyncio.sleep(1)
                    continue
                tag = answer.headers["ETag"]
                if view["status"] != "pending":
                    done = time.perf_counter()
                    seen.answered += 1
                    seen.latencies.append(done - seen.decided_at[request_id])
                    return
    except aiohttp.ClientError as error:
        key = type(error).__name__
        seen.errors[key] = seen.errors.get(key, 0) + 1
    finally:
        seen.in_flight -= 1


def click(served: Served, card: object, request_id: str) -> bytes:
    press = served.standin.press("U0MINA", card, "approve")  # type: ignore[arg-type]
    assert json.loads(press["actions"][0]["value"])["r"] == request_id
    return urlencode({"payload": json.dumps(press)}).encode()


def signed(body: bytes) -> dict[str, str]:
    """Slack's headers, signed now: a signature older than five minutes is refused."""
    stamp = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SLACK_SECRET.encode(), stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


@dataclass(frozen=True)
class Plan:
    database: str | None
    requests: int
    waiters: int
    decide: int
    per_second: float
    profile: str | None
    connect: float = 250


async def main(plan: Plan) -> int:
    limit = raise_open_files()
    # Each side holds one socket a waiter, in its own process (the server inherits the limit).
    if plan.waiters + 1000 > limit:
        print(f"open-file limit {limit} is too low for {plan.waiters} waiters", file=sys.stderr)
        return 2
    seen = Waiters()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=WAIT + 60)
    async with (
        signoff_serve(plan.database, plan.profile) as served,
        aiohttp.ClientSession(connector=connector, timeout=timeout) as http,
    ):
        print(f"opening {plan.requests:,} requests", file=sys.stderr)
        # One more than the waiters watch, decided first: a warm server is what is timed, not
        # the first click's one-off costs (the click path's statements, clients and caches).
        ids = await open_requests(http, served, plan.requests + 1)
        await until_cards(served, (plan.requests + 1) * CARDS)
        clicks = [click(served, card_of(served, request_id), request_id) for request_id in ids]
        stop_recording(served.standin)
        warm_up = clicks.pop()
        async with http.post(
            f"{served.base}/slack/events", data=warm_up, headers=signed(warm_up)
        ) as answer:
            assert answer.status == 200, await answer.text()
        await until_idle(served.pid)
        rss_before, cpu_before = rss_bytes(served.pid), cpu_seconds(served.pid)
        print(f"holding {plan.waiters:,} waiters", file=sys.stderr)
        started = time.perf_counter()
        tasks = []
        for n in range(plan.waiters):
            request_id = ids[n % plan.requests]
            tasks.append(asyncio.ensure_future(wait_for(http, served, request_id, seen)))
            if n % 50 == 49:  # in steps the server's listen backlog takes
                await asyncio.sleep(max(0.0, started + n / plan.connect - time.perf_counter()))
        await until_idle(served.pid)
        settled = time.perf_counter() - started
        rss_held, held, hold_polls = rss_bytes(served.pid), seen.in_flight, seen.polls
        hold_cpu = cpu_seconds(served.pid) - cpu_before
        print(f"{held:,} waiters held after {settled:.1f} s", file=sys.stderr)
        print(f"deciding {plan.decide:,} requests at {plan.per_second:g}/s", file=sys.stderr)
        click_latencies: list[float] = []
        click_statuses: dict[int, int] = {}
        polls_before_deciding = seen.polls
        decide_started = time.perf_counter()

        async def decide(n: int) -> None:
            body = clicks[n]
            headers = signed(body)
            seen.decided_at[ids[n]] = sent = time.perf_counter()
            url = f"{served.base}/slack/events"
            async with http.post(url, data=body, headers=headers) as answer:
                await answer.read()
                click_statuses[answer.status] = click_statuses.get(answer.status, 0) + 1
            click_latencies.append(time.perf_counter() - sent)

        deciding = []
        for n in range(plan.decide):
            delay = decide_started + n / plan.per_second - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            deciding.append(asyncio.ensure_future(decide(n)))
        await asyncio.gather(*deciding)
        expected = sum(1 for n in range(plan.waiters) if n % plan.requests < plan.decide)
        for _ in range(int((WAIT + 30) * 10)):
            if seen.answered >= expected:
                break
            await asyncio.sleep(0.1)
        decide_seconds = time.perf_counter() - decide_started
        decide_cpu = cpu_seconds(served.pid) - cpu_before - hold_cpu
        re_polls = seen.polls - polls_before_deciding
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    report(plan, seen, expected, rss_before, rss_held, held, settled, hold_cpu, hold_polls)
    print(
        f"  clicks: {dict(sorted(click_statuses.items()))}, p50 "
        f"{percentile(click_latencies, 0.5):.1f} ms, p99 {percentile(click_latencies, 0.99):.1f} ms"
    )
    print(
        f"  while deciding ({decide_seconds:.0f} s): server CPU {decide_cpu / decide_seconds:.2f} "
        f"s a second; {re_polls:,} polls made after a wait ended (decided or unchanged)"
    )
    sys.stdout.flush()
    print("the same waiters on a bare aiohttp process (the floor)", file=sys.stderr)
    floor = await measure_floor(
        plan.waiters, plan.requests, plan.decide, plan.connect, plan.per_second
    )
    print(
        f"  floor, bare aiohttp holding {floor.held:,} with no database: "
        f"{floor.bytes_per_held / 1024:.1f} KB per waiter, release to answer p50 "
        f"{floor.p50_ms:.1f} ms, p99 {floor.p99_ms:.1f} ms"
    )
    return 0 if seen.answered == expected else 1


def card_of(served: Served, request_id: str) -> object:
    """Mina's card of `request_id` as the stand-in received it."""
    for call in served.standin.called("chat.postMessage"):
        if call.args["channel"] != "D0MINA":
            continue
        actions = next(b for b in call.args["blocks"] if b["type"] == "actions")
        if json.loads(actions["elements"][0]["value"])["r"] == request_id:
            return call
    raise LookupError(request_id)


def report(
    plan: Plan,
    seen: Waiters,
    expected: int,
    rss_before: int,
    rss_held: int,
    held: int,
    settled: float,
    hold_cpu: float,
    hold_polls: int,
) -> None:
    dialect = (plan.database or "sqlite").split(":", 1)[0].split("+")[0]
    print(
        f"B7 long-polls on {dialect}: {plan.waiters:,} waiters on {plan.requests:,} requests "
        f"(connecting at {plan.connect:g}/s), "
        f"{plan.decide:,} decided at {plan.per_second:g}/s by Slack clicks; one signoff serve"
    )
    per_waiter = (rss_held - rss_before) / max(held, 1)
    print(
        f"  server RSS {rss_before / 2**20:.1f} MB before, {rss_held / 2**20:.1f} MB with "
        f"{held:,} waiters held: {per_waiter / 1024:.1f} KB per waiter (target under 20 KB)"
    )
    print(
        f"  holding them took {settled:.1f} s and {hold_cpu:.1f} s of server CPU for "
        f"{hold_polls:,} polls: {hold_cpu / max(hold_polls, 1) * 1000:.2f} ms a poll"
    )
    if seen.latencies:
        print(
            f"  click sent to waiter answered: p50 {percentile(seen.latencies, 0.5):.1f} ms, "
            f"p99 {percentile(seen.latencies, 0.99):.1f} ms, max "
            f"{max(seen.latencies) * 1000:.1f} ms (target p99 under 100 ms)"
        )
    print(
        f"  waiters answered {seen.answered:,} of the {expected:,} whose request was decided; "
        f"errors {seen.errors or 'none'}"
    )


def cli() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=1000, help="requests the waiters watch")
    parser.add_argument("--waiters", type=int, default=10_000)
    parser.add_argument("--decide", type=int, default=100, help="requests approved, in order")
    parser.add_argument("--decisions-per-second", type=float, default=2)
    parser.add_argument("--connect-per-second", type=float, default=250, help="waiters' ramp")
    parser.add_argument("--profile", help="write a cProfile of `signoff serve` to this file")
    args = parser.parse_args()
    plan = Plan(
        args.database,
        args.requests,
        args.waiters,
        min(args.decide, args.requests),
        args.decisions_per_second,
        args.profile,
        args.connect_per_second,
    )
    # Ten thousand waiters held here too: this process's own full collections would be timed
    # as Signoff's latency, so it settles its heap as `serve` does.
    settle_heap()
    return asyncio.run(main(plan))


if __name__ == "__main__":
    sys.exit(cli())
