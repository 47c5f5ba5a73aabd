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
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from microsoft_agents.activity import AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from bench import apart
from bench.load import drive
from bench.local import database_with_schema, serve_locally, stop_recording
from tests.teams_standin import APP_ID, TENANT, BotConnector, KeyServer, Tokens

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


async def main(
    database: str | None,
    requests: int,
    concurrency: int,
    rates: list[int],
    profile: str | None,
    sample: str | None = None,
) -> int:
    """Signoff in a process of its own (`bench.click_server`), the generator, the key server
    and the Bot Connector stand-in here: the baseline, Signoff at `concurrency`, then Signoff
    at each fixed rate."""
    url = await database_with_schema(database)
    keys, connector = KeyServer(), BotConnector()
    connector.emails = {"29:jae": "jae@acme.example"}  # Jae is found by email, as in the policy
    keys.add("key-1")
    keys_runner, keys.base_url = await serve_locally(keys.app())
    connector_runner, connector_url = await serve_locally(connector.app())
    service_url = connector_url + "/"
    server = await apart.start("teams", url, keys.base_url, profile)
    token = Tokens(keys).make(service_url)

    def bearer(_: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    try:
        runs = 1 + len(rates)
        print(f"opening {runs * requests:,} requests and posting their cards", file=sys.stderr)
        opening = [
            json.dumps(_message(service_url, f"deploy doc-search 1.{n}", n)).encode()
            for n in range(runs * requests)
        ]
        opened = await drive("open", f"{server.base}/api/messages", opening, bearer, concurrency)
        assert set(opened.statuses) <= {200, 201, 202}, opened.statuses
        await server.until_delivered()
        bodies = [invoke(service_url, card) for card in connector.cards(f"a:chat-{MINA}")]
        batches = [bodies[n * requests : (n + 1) * requests] for n in range(runs)]
        stop_recording(connector)
        print("clicking", file=sys.stderr)
        clicking = apart.Clicking(
            "baseline: SDK, fixed card", "/bare/messages", "/api/messages", bearer
        )
        measured = await apart.click_runs(
            server, clicking, batches, concurrency, rates, bool(profile), sample
        )
    finally:
        await server.stop()
        await connector_runner.cleanup()
        await keys_runner.cleanup()
    dialect = url.split(":", 1)[0]
    apart.report(
        f"B5 Teams click path on {dialect}: {requests:,} approvals per run, loopback HTTP, "
        "Signoff in its own process (CPU is that process's)",
        measured,
        rates,
    )
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


ignore_refusal: Callable[[int, str], None] = lambda status, kind: None  # noqa: E731


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
