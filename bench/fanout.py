"""B2, fan-out: one request to 5 Accountable, 20 Consulted and 5 Informed channels.

Run by hand (it is not a test):

    .venv/bin/python -m bench.fanout            # the Slack stand-in adds 50 ms to every call

Measures the time from the slash command's acknowledgement to the last message delivered,
with the app's own relay doing the work. Baseline: one round trip to the stand-in, measured
in the same run. Target: within 3 round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import yaml
from aiohttp import web

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets
from bench.clicks import SECRET, signed
from bench.local import database_with_schema, serve_locally
from bot.platforms.slack import add_slack_events
from bot.policy.source import PolicyHolder
from bot.runtime import build_runtime
from bot.server import create_app, settle_heap
from bot.settings import Settings
from tests.slack_standin import SlackStandIn


def fanout_policy(path: Path) -> None:
    people: dict[str, Any] = {
        f"p{i:02d}": {"name": f"Person {i}", "email": f"p{i:02d}@acme.example",
                      "slack": f"U0P{i:02d}"}
        for i in range(26)
    }  # fmt: skip
    policy = {
        "version": 1,
        "people": people,
        "roles": {
            "leads": {"members": [f"p{i:02d}" for i in range(5)]},
            "reviewers": {"members": [f"p{i:02d}" for i in range(5, 25)]},
            "engineers": {"members": ["p25"]},
        },
        "channels": {f"c{i}": {"slack": f"C0CH{i}"} for i in range(5)},
        "tiers": {"high": {"quorum": 2, "review_every": "30d", "remind_after": "4h",
                           "expire_after": "72h"}},
        "systems": {
            "model": {
                "name": "Model",
                "tier": "high",
                "raci": {
                    "deploy": {
                        "responsible": ["engineers"],
                        "accountable": "leads",
                        "consulted": ["reviewers"],
                        "informed": [f"#c{i}" for i in range(5)],
                    }
                },
            }
        },
    }  # fmt: skip
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")


async def main(delay: float, runs: int) -> int:
    url = await database_with_schema(None)
    folder = Path(tempfile.mkdtemp())
    fanout_policy(folder / "policy.yaml")
    standin = SlackStandIn(delay=delay)
    api_runner, api_base = await serve_locally(standin.app())
    api = f"{api_base}/api/"
    session = aiohttp.ClientSession()  # one for every Slack call, as `serve` has
    client = make_client("xoxb-bench", api, session)
    runtime = await build_runtime(
        # One person opens every request of the run, past the hourly limit of one person.
        Settings(database_url=url, signoff_requests_per_hour=10_000),
        PolicyHolder(folder / "policy.yaml"),
        clock=lambda: datetime.now(UTC),
        ports={"slack": SlackChat(client)},
    )

    def mount(app: web.Application, _: Any) -> None:
        add_slack_events(app, SigningSecrets(SECRET.encode()), client, runtime, "T0ACME")

    runner, base = await serve_locally(create_app(runtime, (mount,)))
    settle_heap()  # as `serve` does once it has started
    results: list[float] = []
    try:
        async with aiohttp.ClientSession() as http:
            started = time.perf_counter()
            async with http.post(f"{api}auth.test") as response:
                await response.read()
            round_trip = time.perf_counter() - started
            for n in range(runs):
                before = len(standin.called("chat.postMessage"))
                body = urlencode({"command": "/signoff", "text": f"deploy model 1.{n}",
                                  "user_id": "U0P25", "team_id": "T0ACME"}).encode()  # fmt: skip
                async with http.post(f"{base}/slack/events", data=body, headers=signed(body)) as r:
                    assert r.status == 200, await r.text()
                acked = time.perf_counter()
                for _ in range(6000):
                    if len(standin.called("chat.postMessage")) - before >= 30:
                        break
                    await asyncio.sleep(0.005)
                results.append(time.perf_counter() - acked)
                await asyncio.sleep(1.2)  # let each destination's pacing pass between runs
    finally:
        await runner.cleanup()
        await session.close()
        await api_runner.cleanup()
    results.sort()
    median = results[len(results) // 2]
    print(f"B2 fan-out: 5 Accountable, 20 Consulted, 5 Informed channels; +{delay * 1000:.0f} ms")
    print(f"  baseline, one round trip:            {round_trip * 1000:8.0f} ms")
    print(f"  ack to last of 30 messages, median:  {median * 1000:8.0f} ms ({runs} runs)")
    print(f"  ratio: {median / round_trip:.1f} round trips (target within 3)")
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added per call")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    return asyncio.run(main(args.delay, args.runs))


if __name__ == "__main__":
    sys.exit(cli())
