"""The Slack world of the HTTP tests: our app behind its gate, the Web API stand-in behind it.

A pytest plugin (see `conftest.py`): the `world` fixture, and the helpers a test uses to act
as Slack would, signing every request.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets, sign
from bot.platforms.slack import add_slack_events
from tests.harness import Harness
from tests.slack_standin import Call, SlackStandIn

SECRET = "flow-signing-secret"


@dataclass
class SlackWorld:
    h: Harness
    standin: SlackStandIn
    client: TestClient[web.Request, web.Application]

    async def post(self, body: bytes) -> aiohttp.ClientResponse:
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(SECRET.encode(), stamp, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return await self.client.post("/slack/events", data=body, headers=headers)

    async def command(self, user: str, text: str) -> str:
        body = urlencode(
            {
                "command": "/signoff",
                "text": text,
                "user_id": user,
                "team_id": "T0ACME",
                "channel_id": "C0WORK",
                "trigger_id": "1.2.3",
                "response_url": "http://unused/",
            }
        ).encode()
        response = await self.post(body)
        assert response.status == 200
        # A text-only ack is answered as plain text, which Slack shows only to the sender.
        assert response.content_type == "text/plain"
        return await response.text()

    async def click(self, user: str, card: Call, action: str) -> int:
        response = await self.post(self.click_body(user, card, action))
        return response.status

    def click_body(self, user: str, card: Call, action: str) -> bytes:
        return urlencode({"payload": json.dumps(self.standin.press(user, card, action))}).encode()

    def ts_of(self, card: Call) -> str:
        return self.standin.ts_of(card)

    def card_for(self, dm: str) -> Call:
        return self.standin.card_for(dm)


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[SlackWorld]:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api, aiohttp.ClientSession() as session:
        web_client = make_client("xoxb-flow", str(api.make_url("/api/")), session)
        h = Harness(engine, chat=SlackChat(web_client))  # type: ignore[arg-type]
        app = web.Application()
        secrets = SigningSecrets(SECRET.encode())
        add_slack_events(app, secrets, web_client, h.runtime(), "T0ACME")
        async with TestClient(TestServer(app)) as client:
            yield SlackWorld(h, standin, client)
