"""DUR-10 through Slack: with the database down a command is a 503 and nothing is recorded."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import make_client
from adapters.slack.signing import SigningSecrets, sign
from bot.platforms.slack import add_slack_events
from tests.harness import Harness
from tests.slack_standin import SlackStandIn

SECRET = b"outage-secret"


async def test_dur_10_a_command_while_the_database_is_down_is_a_503(
    unreachable_engine: AsyncEngine,
) -> None:
    standin = SlackStandIn()
    h = Harness(unreachable_engine)
    async with TestServer(standin.app()) as api:
        client = make_client("xoxb-outage", str(api.make_url("/api/")))
        app = web.Application()
        add_slack_events(app, SigningSecrets(SECRET), client, h.runtime())
        async with TestClient(TestServer(app)) as http:
            body = urlencode(
                {
                    "command": "/signoff",
                    "text": "deploy doc-search 1.0",
                    "user_id": "U0SOO",
                    "team_id": "T0ACME",
                }
            ).encode()
            stamp = str(int(time.time()))
            headers = {
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sign(SECRET, stamp, body),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            response = await http.post("/slack/events", data=body, headers=headers)
            assert response.status == 503
    assert standin.called("chat.postMessage") == []
