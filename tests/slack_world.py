"""The Slack world of the HTTP tests: our app behind its gate, the Web API stand-in behind it.

A pytest plugin (see `conftest.py`): the `world` fixture, and the helpers a test uses to act
as Slack would, signing every request.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
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
    _triggers: Iterator[int] = field(default_factory=itertools.count)

    async def post(self, body: bytes) -> aiohttp.ClientResponse:
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(SECRET.encode(), stamp, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return await self.client.post("/slack/events", data=body, headers=headers)

    async def command(self, user: str, text: str, team: str = "T0ACME") -> str:
        """What `user` of workspace `team` is shown after typing `/signoff text`."""
        response = await self.post(self.command_body(user, text, team))
        assert response.status == 200
        # A text-only ack is answered as plain text, which Slack shows only to the sender.
        assert response.content_type == "text/plain"
        return await response.text()

    def command_body(self, user: str, text: str, team: str = "T0ACME") -> bytes:
        """One invocation of the command: each has its own `trigger_id`, as in Slack."""
        return urlencode(
            {
                "command": "/signoff",
                "text": text,
                "user_id": user,
                "team_id": team,
                "channel_id": "C0WORK",
                "trigger_id": f"{next(self._triggers)}.2.3",
                "response_url": "http://unused/",
            }
        ).encode()

    async def click(self, user: str, card: Call, action: str, team: str = "T0ACME") -> int:
        response = await self.post(self.click_body(user, card, action, team))
        return response.status

    def click_body(self, user: str, card: Call, action: str, team: str = "T0ACME") -> bytes:
        press = self.standin.press(user, card, action, team)
        return urlencode({"payload": json.dumps(press)}).encode()

    def ts_of(self, card: Call) -> str:
        return self.standin.ts_of(card)

    def card_for(self, dm: str) -> Call:
        return self.standin.card_for(dm)


@contextlib.asynccontextmanager
async def slack_world(engine: AsyncEngine, standin: SlackStandIn) -> AsyncIterator[SlackWorld]:
    """Our app over HTTP, in front of `standin` as its Slack."""
    async with TestServer(standin.app()) as api, aiohttp.ClientSession() as session:
        web_client = make_client("xoxb-flow", str(api.make_url("/api/")), session)
        h = Harness(engine, chat=SlackChat(web_client))  # type: ignore[arg-type]
        app = web.Application()
        secrets = SigningSecrets(SECRET.encode())
        # No team given: the installation's workspace is learned from auth.test at start-up.
        add_slack_events(app, secrets, web_client, h.runtime())
        async with TestClient(TestServer(app)) as client:
            yield SlackWorld(h, standin, client)


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[SlackWorld]:
    async with slack_world(engine, SlackStandIn()) as made:
        yield made
