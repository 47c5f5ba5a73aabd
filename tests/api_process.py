"""A real `signoff serve` with API v1, Slack's stand-in beside it, and a client's HTTP calls."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from tests.serve_process import Server, _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

API_POLICY = Path(__file__).parent / "api" / "policy.yaml"
KEYS = itertools.count(1)


def body(**more: Any) -> dict[str, Any]:
    """A request to deploy the support assistant, with whatever `more` changes."""
    return {"system": "support-chatbot", "version": "2.1.0", "environment": "production",
            "reason": "new answers on refunds", **more}  # fmt: skip


@dataclass
class Answer:
    status: int
    headers: CIMultiDict[str]
    json: dict[str, Any]


@dataclass
class ApiClient:
    """One client's calls to API v1, as a pipeline makes them."""

    http: aiohttp.ClientSession
    base: str
    token: str
    sent: list[str] = field(default_factory=list)

    async def call(
        self, method: str, path: str, payload: Any = None, key: str | None = None, **headers: str
    ) -> Answer:
        sent = {"Authorization": f"Bearer {self.token}", **headers}
        if key is not None:
            sent["Idempotency-Key"] = key
        data = payload if isinstance(payload, bytes) else None
        if payload is not None and data is None:
            data = json.dumps(payload).encode()
            sent["Content-Type"] = "application/json"
        async with self.http.request(method, self.base + path, data=data, headers=sent) as r:
            text = await r.text()
            return Answer(r.status, CIMultiDict(r.headers), json.loads(text) if text else {})

    async def open(self, payload: dict[str, Any], key: str | None = None) -> Answer:
        return await self.call("POST", "/api/v1/requests", payload, key or f"key-{next(KEYS)}")


@dataclass
class ApiWorld:
    tmp_path: Path
    server: Server
    standin: SlackStandIn
    slack: Slack
    http: aiohttp.ClientSession
    env: dict[str, str]
    servers: list[Server]

    async def replica(self, name: str) -> Server:
        """Another `signoff serve` on the same database, stopped with the world."""
        server = await start_server(self.tmp_path, name, self.env)
        self.servers.append(server)
        return server

    def token(self, name: str, command: str = "issue", *more: str) -> str:
        """The client's token: the first line `signoff clients issue|rotate` prints."""
        return self.credentials(name, command, *more)[0]

    def credentials(self, name: str, command: str = "issue", *more: str) -> list[str]:
        """Every line `signoff clients` prints: the token, then the callback signing secret."""
        policy = self.env.get("SIGNOFF_POLICY", str(API_POLICY))
        env = {"SIGNOFF_POLICY": policy, "DATABASE_URL": self.env["DATABASE_URL"]}
        done = signoff(self.tmp_path, "clients", command, name, *more, **env)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def client(self, token: str) -> ApiClient:
        return ApiClient(self.http, self.server.base, token)

    async def click(self, user: str, channel: str, action: str) -> None:
        """`user` presses `action` on the last card in `channel`, signed as Slack signs."""

        def posted() -> bool:
            return any(
                c.args["channel"] == channel for c in self.standin.called("chat.postMessage")
            )

        await until(posted, f"a card in {channel}", [self.server])
        await self.settled()
        press = self.standin.press(user, self.standin.card_for(channel), action)
        status, _ = await self.slack.post(urlencode({"payload": json.dumps(press)}).encode())
        assert status == 200

    async def settled(self, seconds: float = 5.0) -> None:
        """Until Signoff has recorded what it sent (nothing pending), for at most `seconds`.

        A person presses a button once the card shows, by when Signoff has recorded where it
        posted it; a test that pressed the moment the stand-in saw the post could be refused
        as a click on a card the request does not have. A row still failing after `seconds`
        is left to its retries: the click goes ahead.
        """
        for _ in range(int(seconds / 0.05)):
            async with self.http.get(f"{self.server.base}/healthz") as r:
                if (await r.json()).get("pending_messages") == 0:
                    return
            await asyncio.sleep(0.05)

    async def slack_command(self, user: str, text: str) -> str:
        command = {"command": "/signoff", "text": text, "user_id": user, "team_id": "T0ACME"}
        status, answer = await self.slack.post(urlencode(command).encode())
        assert status == 200
        return answer

    async def metric(self, line_start: str) -> float:
        async with self.http.get(f"{self.server.base}/metrics") as r:
            for line in (await r.text()).splitlines():
                if line.startswith(line_start):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


@contextlib.asynccontextmanager
async def api_world(
    tmp_path: Path, policy: Path = API_POLICY, **env: str
) -> AsyncIterator[ApiWorld]:
    """A migrated database, a server with Slack and API v1 under `policy`, and an HTTP
    session."""
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api:
        assert signoff(tmp_path, "db", "upgrade", **env).returncode == 0
        settings = _env(
            tmp_path,
            SIGNOFF_POLICY=str(policy),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(api.make_url("/api/")),
            **env,
        )
        server = await start_server(tmp_path, "serve", settings)
        servers = [server]
        try:
            async with aiohttp.ClientSession() as http:
                slack = Slack(http, server.base)
                yield ApiWorld(tmp_path, server, standin, slack, http, settings, servers)
        finally:
            for running in servers:
                await running.stop()
