"""Signing secrets in operation over HTTP: rotation (SIG-16) and a skewed clock (SIG-17)."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import make_client
from adapters.slack.signing import SigningSecrets, sign
from bot.platforms.slack import add_slack_events
from bot.runtime import Runtime
from bot.server import create_app
from tests.harness import Harness
from tests.slack_standin import SlackStandIn

NEW, OLD = b"the-new-secret", b"the-old-secret"
HELP = urlencode(
    {"command": "/signoff", "text": "help", "user_id": "U0MINA", "team_id": "T0ACME"}
).encode()


def _app(
    h: Harness, api: BaseTestServer, secrets: SigningSecrets, clock: Callable[[], float]
) -> web.Application:
    def mount(app: web.Application, runtime: Runtime) -> None:
        client = make_client("xoxb-secrets", str(api.make_url("/api/")))
        add_slack_events(app, secrets, client, runtime, None, clock)

    runtime = h.runtime()
    return create_app(runtime, (mount,))


def _headers(secret: bytes, stamp: float) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(int(stamp)),
        "X-Slack-Signature": sign(secret, str(int(stamp)), HELP),
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def test_sig_16_the_old_secret_works_until_the_overlap_ends(engine: AsyncEngine) -> None:
    now = [time.time()]
    rotation = SigningSecrets(current=NEW, previous=OLD, previous_until=now[0] + 3600)
    async with (
        TestServer(SlackStandIn().app()) as api,
        TestClient(TestServer(_app(Harness(engine), api, rotation, lambda: now[0]))) as client,
    ):
        for secret in (NEW, OLD):
            response = await client.post(
                "/slack/events", data=HELP, headers=_headers(secret, now[0])
            )
            assert response.status == 200, secret
        now[0] += 3601
        old = await client.post("/slack/events", data=HELP, headers=_headers(OLD, now[0]))
        assert old.status == 401
        new = await client.post("/slack/events", data=HELP, headers=_headers(NEW, now[0]))
        assert new.status == 200


async def test_sig_17_a_skewed_clock_refuses_everything_and_shows_in_metrics(
    engine: AsyncEngine,
) -> None:
    skewed = lambda: time.time() + 6 * 60  # noqa: E731
    async with TestServer(SlackStandIn().app()) as api:
        app = _app(Harness(engine), api, SigningSecrets(NEW), skewed)
        client = TestClient(TestServer(app))
        await client.start_server()
        for _ in range(3):
            response = await client.post(
                "/slack/events", data=HELP, headers=_headers(NEW, time.time())
            )
            assert response.status == 401
        metrics = await (await client.get("/metrics")).text()
        await client.close()
    assert (
        'signoff_inbound_refused_total{kind="clock-skew",platform="slack",status="401"} 3.0'
        in metrics
    )
