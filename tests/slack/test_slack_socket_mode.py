"""Slack in Socket Mode: the app opens the WebSocket the stand-in offers and acts on envelopes."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from bot.platforms.slack import slack_mount
from bot.server import create_app
from bot.settings import Settings
from tests.harness import Harness
from tests.slack_standin import SlackStandIn
from workflows.model import Status


async def test_a_request_and_an_approval_over_socket_mode(engine: AsyncEngine) -> None:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api:
        api_url = str(api.make_url("/api/"))
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-socket"),
            slack_app_token=SecretStr("xapp-socket"),
            slack_api_url=api_url,
        )
        assert settings.slack_socket_mode and not settings.slack_over_http
        client = make_client("xoxb-socket", api_url)
        h = Harness(engine, chat=SlackChat(client))  # type: ignore[arg-type]
        runtime = h.runtime()
        app = create_app(runtime, (slack_mount(settings, client),))
        async with TestServer(app):
            # Socket Mode needs no public URL: nothing may be routed to /slack/events.
            assert all(
                r.resource is None or r.resource.canonical != "/slack/events"
                for r in app.router.routes()
            )
            ack = await standin.send_envelope(
                "slash_commands",
                {
                    "command": "/signoff",
                    "text": "deploy doc-search 2.3.1 -- weekly refresh",
                    "user_id": "U0SOO",
                    "team_id": "T0ACME",
                    "channel_id": "C0WORK",
                    "trigger_id": "1.2.3",
                },
            )
            assert "is open; asked Mina Park" in ack["payload"]["text"]
            opened = standin.called("apps.connections.open")
            assert opened and opened[0].authorization == "Bearer xapp-socket"

            await h.settle()
            card = standin.card_for("D0MINA")
            click = standin.press("U0MINA", card, "approve")
            request_id = json.loads(click["actions"][0]["value"])["r"]
            await standin.send_envelope("interactive", click)
            assert (await h.state(request_id)).status is Status.APPROVED
            assert await h.actions(request_id) == ["requested", "approved"]
            assert await h.chain_ok()
