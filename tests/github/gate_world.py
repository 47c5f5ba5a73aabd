"""The gate's world in one process: our app with Slack and `/github/webhook` mounted, the
Slack Web API stand-in, and GitHub's stand-in over HTTPS, all over real HTTP."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets
from bot.delivery.outbound import AddressGuard
from bot.delivery.outbound_kinds import outbound_delivery
from bot.platforms.github import github_app, github_mount
from bot.platforms.slack import add_slack_events
from bot.settings import Settings
from bot.storage.tables import approval_requests
from tests.github_standin import (
    APP_ID,
    WEBHOOK_SECRET,
    GitHubStandIn,
    Served,
    deployment_event,
    serve_github,
    signed_delivery,
)
from tests.harness import Harness, Policies, build_policy
from tests.slack_standin import SlackStandIn
from tests.slack_world import SECRET, SlackWorld
from workflows.policy import Policy

GATES = {
    "acme/credit-scoring": {"production": "credit-scoring"},
    "acme/doc-search": {"production": "doc-search"},
}


def gate_policy() -> Policy:
    """The tests' policy, Soo's GitHub login known, and two repositories gated."""

    def change(raw: dict[str, Any]) -> None:
        raw["people"]["soo"]["github"] = "soo-han"
        raw["github"] = {"environments": GATES}

    return build_policy(change)


def gate_settings(api_url: str, private_pem: str) -> Settings:
    return Settings(
        github_app_id=APP_ID,
        github_app_private_key=private_pem,
        github_webhook_secret=WEBHOOK_SECRET,
        github_api_url=api_url,
    )


@dataclass
class GateWorld:
    slack: SlackWorld
    served: Served
    runs: Iterator[int] = field(default_factory=lambda: itertools.count(9001))

    @property
    def h(self) -> Harness:
        return self.slack.h

    @property
    def github(self) -> GitHubStandIn:
        return self.served.standin

    def event(self, repository: str = "acme/doc-search", **more: Any) -> dict[str, Any]:
        """A new run's ask for `repository`'s production environment."""
        url = self.github.callback_url(repository, str(next(self.runs)))
        return deployment_event(url, repository=repository, **more)

    async def deliver(
        self, payload: dict[str, Any] | bytes, **signing: str
    ) -> tuple[int, dict[str, Any]]:
        body, headers = signed_delivery(payload, **signing)
        return await self.post(body, headers)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = await self.slack.client.post("/github/webhook", data=body, headers=headers)
        return response.status, json.loads(await response.text() or "{}")

    async def requests(self) -> int:
        async with self.h.engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(approval_requests))
        return int(count or 0)


@contextlib.asynccontextmanager
async def gate_world(engine: AsyncEngine, folder: Path) -> AsyncIterator[GateWorld]:
    standin = SlackStandIn()
    async with (
        serve_github(folder) as served,
        TestServer(standin.app()) as slack_api,
        aiohttp.ClientSession() as session,
    ):
        web_client = make_client("xoxb-gate", str(slack_api.make_url("/api/")), session)
        h = Harness(engine, Policies.of(gate_policy()), chat=SlackChat(web_client))  # type: ignore[arg-type]
        # Loopback is where the stand-in listens; its certificate is the local authority's.
        h.relay.outbound = outbound_delivery(
            AddressGuard(allow_private=True), tls=served.client_tls
        )
        settings = gate_settings(served.standin.base_url, served.standin.private_pem)
        app = web.Application()
        add_slack_events(app, SigningSecrets(SECRET.encode()), web_client, h.runtime())
        github_mount(settings, github_app(settings, served.client_tls))(app, h.runtime())
        async with TestClient(TestServer(app)) as client:
            yield GateWorld(SlackWorld(h, standin, client), served)
