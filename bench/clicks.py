"""B1, the click path: signed `block_actions` approvals over loopback HTTP.

Run by hand (it is not a test); Signoff runs in a process of its own:

    .venv/bin/python -m bench.clicks                  # SQLite, 500 approvals a run
    .venv/bin/python -m bench.clicks --database postgresql+asyncpg://postgres@127.0.0.1/bench

The baseline is a bare slack-bolt `AsyncApp` whose action listener only acks, verifying the
same signatures, on the same aiohttp server, driven by the same generator in the same run.
Each approval lands on its own pending request (quorum 1), so every click decides: it locks
the row, steps the machine, writes the vote, two ledger entries and the outbox rows. A second
run at a fixed 50 clicks per second, and one at 100, give the latency a steady Slack
workspace would see. The generator and the stand-in run here; Signoff (and the baseline) in
`bench.click_server`, whose own CPU is what the runs report. `measure` keeps everything in one
process, for the benchmarks built on it (B3's clicks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets, sign
from bench import apart
from bench.load import Run, drive, until_delivered
from bench.local import database_with_schema, serve_locally, stop_recording
from bot.platforms.slack import add_slack_events
from bot.policy.source import PolicyHolder
from bot.runtime import Mount, build_runtime
from bot.server import create_app, settle_heap
from bot.settings import Settings
from tests.slack_standin import Call, SlackStandIn

SECRET = "bench-signing-secret"
EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.yaml"


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(SECRET.encode(), stamp, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def bare_bolt(client: AsyncWebClient) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The baseline: bolt verifying the signature and an action listener that only acks."""
    bolt = AsyncApp(signing_secret=SECRET, client=client)

    @bolt.action({"action_id": "signoff.approve"})
    async def only_ack(ack: AsyncAck) -> None:
        await ack()

    async def handle(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    return handle


def click_bodies(standin: SlackStandIn, cards: list[Call]) -> list[bytes]:
    return [
        urlencode({"payload": json.dumps(standin.press("U0MINA", card, "approve"))}).encode()
        for card in cards
    ]


async def main(
    database: str | None,
    requests: int,
    concurrency: int,
    rates: list[int],
    profile: str | None,
    sample: str | None = None,
) -> int:
    """Signoff in a process of its own (`bench.click_server`), the generator and the Slack
    stand-in here: the baseline, Signoff at `concurrency`, then Signoff at each fixed rate."""
    url = await database_with_schema(database)
    standin = SlackStandIn()
    api_runner, api = await serve_locally(standin.app())
    server = await apart.start("slack", url, api, profile)
    try:
        runs = 1 + len(rates)
        print(f"opening {runs * requests:,} requests and posting their cards", file=sys.stderr)
        opening = [
            urlencode({"command": "/signoff", "text": f"deploy doc-search 1.{n}",
                       "user_id": "U0JAE", "team_id": "T0ACME"}).encode()
            for n in range(runs * requests)
        ]  # fmt: skip
        opened = await drive("open", f"{server.base}/slack/events", opening, signed, concurrency)
        assert opened.statuses == {200: len(opening)}, opened.statuses
        await server.until_delivered()
        cards = [c for c in standin.called("chat.postMessage") if c.args["channel"] == "D0MINA"]
        bodies = click_bodies(standin, cards)
        batches = [bodies[n * requests : (n + 1) * requests] for n in range(runs)]
        stop_recording(standin)
        print("clicking", file=sys.stderr)
        clicking = apart.Clicking(
            "baseline: bare bolt, ack only", "/bare/events", "/slack/events", signed
        )
        measured = await apart.click_runs(
            server, clicking, batches, concurrency, rates, bool(profile), sample
        )
    finally:
        await server.stop()
        await api_runner.cleanup()
    dialect = url.split(":", 1)[0]
    apart.report(
        f"B1 click path on {dialect}: {requests:,} approvals per run, loopback HTTP, Signoff in "
        "its own process (CPU is that process's)",
        measured,
        rates,
    )
    return 0


async def measure(
    url: str, requests: int, concurrency: int, mounts: tuple[Mount, ...] = ()
) -> tuple[Run, Run, Run]:
    """The baseline, Signoff at `concurrency`, and Signoff at 50 clicks/s, on database `url`;
    `mounts` adds parts of `serve` (the scheduler and its anchoring job, for B3)."""
    standin = SlackStandIn()
    api_runner, api = await serve_locally(standin.app())
    # One session for every Slack call, as `serve` has.
    session = aiohttp.ClientSession()
    client = make_client("xoxb-bench", f"{api}/api/", session)
    runtime = await build_runtime(
        # No pacing: the stand-in has no rate limit, and B1 measures clicks, not pacing.
        # One person opens every request of the run, past the hourly limit of one person.
        Settings(database_url=url, signoff_pace_seconds=0, signoff_requests_per_hour=10_000),
        PolicyHolder(EXAMPLE_POLICY),
        clock=lambda: datetime.now(UTC),
        ports={"slack": SlackChat(client)},
    )

    def mount(app: web.Application, _: Any) -> None:
        add_slack_events(app, SigningSecrets(SECRET.encode()), client, runtime, "T0ACME")
        app.router.add_post("/bare/events", bare_bolt(client))

    runner, base = await serve_locally(create_app(runtime, (mount, *mounts)))
    settle_heap()  # as `serve` does once it has started
    try:
        print(f"opening {2 * requests:,} requests and posting their cards", file=sys.stderr)
        for n in range(2 * requests):
            body = urlencode(
                {"command": "/signoff", "text": f"deploy doc-search 1.{n}", "user_id": "U0JAE",
                 "team_id": "T0ACME"}
            ).encode()  # fmt: skip
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{base}/slack/events", data=body, headers=signed(body)) as r,
            ):
                assert r.status == 200, await r.text()
        await until_delivered(runtime.relay)

        cards = [c for c in standin.called("chat.postMessage") if c.args["channel"] == "D0MINA"]
        bodies = click_bodies(standin, cards)
        first, second = bodies[:requests], bodies[requests:]
        stop_recording(standin)
        print("clicking", file=sys.stderr)
        baseline = await drive("baseline: bare bolt, ack only", f"{base}/bare/events", first,
                               signed, concurrency)  # fmt: skip
        ours = await drive(f"Signoff, concurrency {concurrency}", f"{base}/slack/events", first,
                           signed, concurrency,
                           settle=lambda: until_delivered(runtime.relay))  # fmt: skip
        steady = await drive("Signoff, fixed 50 clicks/s", f"{base}/slack/events", second,
                             signed, concurrency, per_second=50,
                             settle=lambda: until_delivered(runtime.relay))  # fmt: skip
    finally:
        await runner.cleanup()
        await session.close()
        await api_runner.cleanup()
    return baseline, ours, steady


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=500, help="approvals per run")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--rates",
        type=int,
        nargs="*",
        default=[50, 100],
        help="fixed rates (clicks per second) to run at, after the saturated run",
    )
    parser.add_argument("--profile", help="write a cProfile (pstats) of the saturated run here")
    parser.add_argument("--py-spy", help="write py-spy's raw stacks of the saturated run here")
    args = parser.parse_args()
    return asyncio.run(
        main(args.database, args.requests, args.concurrency, args.rates, args.profile, args.py_spy)
    )


if __name__ == "__main__":
    sys.exit(cli())
