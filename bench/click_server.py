"""The server side of the click benchmarks, run in a process of its own: Signoff and a bare
baseline on one loopback port, its platform stand-ins elsewhere (in the generator's process).

Started by `bench.apart`, never by hand. It prints `port <n>` once it serves, and stops when
its standard input closes. Besides the app's own routes it answers `GET /bench/pending` (how
many outbox rows are pending, so the generator knows when the card updates are out) and, with
`--profile`, `POST /bench/profile/{start,stop}` (cProfile of this process, written as a
pstats file).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.local import serve_locally
from bot.policy.source import PolicyHolder
from bot.runtime import Runtime, build_runtime
from bot.server import create_app, settle_heap
from bot.settings import Settings

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.yaml"
SECRET = "bench-signing-secret"
Mount = Callable[[web.Application, Any], None]


def _settings(url: str) -> Settings:
    # No pacing: the stand-ins have no rate limit, and the benchmark measures clicks, not
    # pacing. One person opens every request of the run, past the hourly limit of one person.
    return Settings(database_url=url, signoff_pace_seconds=0, signoff_requests_per_hour=10_000)


async def _slack(url: str, upstream: str, session: aiohttp.ClientSession) -> tuple[Runtime, Mount]:
    from adapters.slack.chat import SlackChat, make_client
    from adapters.slack.signing import SigningSecrets
    from bench.clicks import bare_bolt
    from bot.platforms.slack import add_slack_events

    client = make_client("xoxb-bench", f"{upstream}/api/", session)
    runtime = await build_runtime(
        _settings(url),
        PolicyHolder(EXAMPLE_POLICY),
        clock=lambda: datetime.now(UTC),
        ports={"slack": SlackChat(client)},
    )

    def mount(app: web.Application, _: Any) -> None:
        add_slack_events(app, SigningSecrets(SECRET.encode()), client, runtime, "T0ACME")
        app.router.add_post("/bare/events", bare_bolt(client))

    return runtime, mount


async def _teams(url: str, upstream: str, _: aiohttp.ClientSession) -> tuple[Runtime, Mount]:
    from microsoft_agents.hosting.aiohttp import CloudAdapter

    from adapters.teams.connections import OneConnection
    from adapters.teams.keys import KeySet
    from adapters.teams.route import teams_route
    from adapters.teams.token_check import TokenCheck
    from bench.teams_clicks import BareHandler, ignore_refusal
    from bot.platforms.teams import TeamsConfig, add_teams_messages, teams_port
    from tests.teams_standin import APP_ID, TENANT
    from tests.teams_world import LocalTokens

    # Tomas has no Teams id in the example policy, so his copies are dead-lettered by design.
    logging.getLogger("signoff.outbox").setLevel(logging.CRITICAL)
    config = TeamsConfig(APP_ID, TENANT, f"{upstream}/openid", LocalTokens())
    policies = PolicyHolder(EXAMPLE_POLICY)

    def clock() -> datetime:
        return datetime.now(UTC)

    runtime = await build_runtime(
        _settings(url),
        policies,
        clock=clock,
        port_factories={"teams": teams_port(config, clock, lambda: policies.current.policy)},
    )
    check = TokenCheck(KeySet(config.metadata_url), APP_ID, {TENANT})
    bare = CloudAdapter(connection_manager=OneConnection(config.tokens))

    def mount(app: web.Application, _: Any) -> None:
        add_teams_messages(app, config, runtime, clock)
        app.router.add_post(
            "/bare/messages", teams_route(check, bare, BareHandler(), ignore_refusal)
        )

    return runtime, mount


def _bench_routes(runtime: Runtime, profile: str | None) -> Mount:
    profiler = cProfile.Profile()

    async def pending(_: web.Request) -> web.Response:
        return web.json_response({"pending": await runtime.relay.pending()})

    async def start(_: web.Request) -> web.Response:
        profiler.enable()
        return web.json_response({})

    async def stop(_: web.Request) -> web.Response:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(profile)
        return web.json_response({})

    def mount(app: web.Application, _: Any) -> None:
        app.router.add_get("/bench/pending", pending)
        if profile is not None:
            app.router.add_post("/bench/profile/start", start)
            app.router.add_post("/bench/profile/stop", stop)

    return mount


async def main(platform: str, url: str, upstream: str, profile: str | None) -> int:
    session = aiohttp.ClientSession()  # one for every Slack call, as `serve` has
    build: Callable[..., Awaitable[tuple[Runtime, Mount]]] = (
        _slack if platform == "slack" else _teams
    )
    runtime, mount = await build(url, upstream, session)
    runner, base = await serve_locally(
        create_app(runtime, (mount, _bench_routes(runtime, profile)))
    )
    settle_heap()  # as `serve` does once it has started
    print(json.dumps({"port": int(base.rsplit(":", 1)[1])}), flush=True)
    try:
        # Until the generator closes our standard input.
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()
        await session.close()
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=("slack", "teams"), required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--upstream", required=True, help="the stand-in's (or key server's) URL")
    parser.add_argument("--profile", help="write a cProfile of the clicks here")
    args = parser.parse_args()
    return asyncio.run(main(args.platform, args.database, args.upstream, args.profile))


if __name__ == "__main__":
    sys.exit(cli())
