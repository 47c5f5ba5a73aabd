"""B5, the Teams click path: `Action.Execute` invokes with RS256 tokens over loopback HTTP.

Run by hand (it is not a test):

    .venv/bin/python -m bench.teams_clicks                 # SQLite, 500 approvals, concurrency 10
    .venv/bin/python -m bench.teams_clicks --database postgresql+asyncpg://postgres@127.0.0.1/bench

The baseline is the Agents SDK's `CloudAdapter` with a bare `ActivityHandler` that answers
every card action with a fixed card, behind the same token checks, on the same aiohttp server,
driven by the same generator in the same run: the ratio is what Signoff's engine, database and
card rendering cost on top of the SDK. Each approval lands on its own pending request, so every
invoke decides and returns the re-rendered card.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from microsoft_agents.activity import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from adapters.teams.connections import OneConnection
from adapters.teams.keys import KeySet
from adapters.teams.route import teams_route
from adapters.teams.token_check import TokenCheck
from bench.load import drive, print_runs, print_throughput, until_delivered
from bench.local import database_with_schema, serve_locally, stop_recording
from bot.platforms.teams import TeamsConfig, add_teams_messages, teams_port
from bot.policy.source import PolicyHolder
from bot.runtime import build_runtime
from bot.server import create_app, settle_heap
from bot.settings import Settings
from tests.teams_standin import APP_ID, TENANT, BotConnector, KeyServer, Tokens
from tests.teams_world import LocalTokens

EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "examples" / "policy.yaml"
MINA = "6f1c2a9b-3d4e-4f50-8a61-b7c8d9e0f1a2"  # her `teams:` id in the example policy
FIXED_CARD = {"type": "AdaptiveCard", "version": "1.5", "body": [], "actions": []}


class BareHandler(ActivityHandler):
    async def on_adaptive_card_invoke(  # type: ignore[override]
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        return AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=FIXED_CARD
        )


def invoke(service_url: str, card: Any) -> bytes:
    action = card.body["attachments"][0]["content"]["actions"][0]
    conversation = card.path.split("/")[3]
    return json.dumps(
        {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "id": f"f:{card.answered_id}",
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {"id": "29:mina", "aadObjectId": MINA},
            "recipient": {"id": f"28:{APP_ID}"},
            "conversation": {"id": conversation, "conversationType": "personal",
                             "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}},
            "replyToId": card.answered_id,
            "value": {"action": {"type": "Action.Execute", "verb": action["verb"],
                                 "data": action["data"]}},
        }
    ).encode()  # fmt: skip


async def main(database: str | None, requests: int, concurrency: int) -> int:
    # Tomas has no Teams id in the example policy, so his copies are dead-lettered by design.
    logging.getLogger("signoff.outbox").setLevel(logging.CRITICAL)
    url = await database_with_schema(database)
    keys, connector = KeyServer(), BotConnector()
    connector.emails = {"29:jae": "jae@acme.example"}  # Jae is found by email, as in the policy
    keys.add("key-1")
    keys_runner, keys.base_url = await serve_locally(keys.app())
    connector_runner, connector_url = await serve_locally(connector.app())
    service_url = connector_url + "/"
    config = TeamsConfig(APP_ID, TENANT, f"{keys.base_url}/openid", LocalTokens())
    policies = PolicyHolder(EXAMPLE_POLICY)

    def clock() -> datetime:
        return datetime.now(UTC)

    runtime = await build_runtime(
        # One person opens every request of the run, past the hourly limit of one person.
        Settings(database_url=url, signoff_pace_seconds=0, signoff_requests_per_hour=10_000),
        policies,
        clock=clock,
        port_factories={"teams": teams_port(config, clock, lambda: policies.current.policy)},
    )
    check = TokenCheck(KeySet(config.metadata_url), APP_ID, {TENANT})
    bare = CloudAdapter(connection_manager=OneConnection(config.tokens))

    def mount(app: web.Application, _: Any) -> None:
        add_teams_messages(app, config, runtime, clock)
        app.router.add_post("/bare/messages", teams_route(check, bare, BareHandler(), _ignore))

    runner, base = await serve_locally(create_app(runtime, (mount,)))
    settle_heap()  # as `serve` does once it has started
    token = Tokens(keys).make(service_url)

    def bearer(_: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    try:
        print(f"opening {2 * requests:,} requests and posting their cards", file=sys.stderr)
        async with aiohttp.ClientSession() as http:
            for n in range(2 * requests):
                body = json.dumps(_message(service_url, f"deploy doc-search 1.{n}", n)).encode()
                async with http.post(f"{base}/api/messages", data=body, headers=bearer(body)) as r:
                    assert r.status in (200, 201, 202), await r.text()
        await until_delivered(runtime.relay)

        cards = connector.cards(f"a:chat-{MINA}")
        bodies = [invoke(service_url, card) for card in cards]
        first, second = bodies[:requests], bodies[requests:]
        stop_recording(connector)
        print("clicking", file=sys.stderr)
        baseline = await drive("baseline: SDK, fixed card", f"{base}/bare/messages", first,
                               bearer, concurrency)  # fmt: skip
        ours = await drive(f"Signoff, concurrency {concurrency}", f"{base}/api/messages", first,
                           bearer, concurrency,
                           settle=lambda: until_delivered(runtime.relay))  # fmt: skip
        steady = await drive("Signoff, fixed 50 clicks/s", f"{base}/api/messages", second,
                             bearer, concurrency, per_second=50,
                             settle=lambda: until_delivered(runtime.relay))  # fmt: skip
    finally:
        await runner.cleanup()
        await connector_runner.cleanup()
        await keys_runner.cleanup()
    dialect = url.split(":", 1)[0]
    print_runs(
        f"B5 Teams click path on {dialect}: {requests:,} approvals per run, loopback HTTP",
        [baseline, ours, steady],
    )
    print_throughput(baseline, ours)
    print(f"  p99 at 50 clicks/s: {steady.percentile(0.99):.1f} ms")
    return 0


def _message(service_url: str, text: str, n: int) -> dict[str, Any]:
    """A request from Jae (found by email) in his personal chat with Signoff."""
    return {
        "type": "message",
        "id": f"m:{n}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:jae", "aadObjectId": "jae-object-id"},
        "recipient": {"id": f"28:{APP_ID}"},
        "conversation": {"id": "a:jae", "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        "text": text,
    }


_ignore: Callable[[int, str], None] = lambda status, kind: None  # noqa: E731


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=500, help="approvals per run")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    return asyncio.run(main(args.database, args.requests, args.concurrency))


if __name__ == "__main__":
    sys.exit(cli())
