"""The console in process: the real application with its console mounted in local mode, over
a real database, and a browser-like client that keeps the session cookie and its CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.console_mount import console_mount
from bot.server import create_app
from bot.settings import Settings
from tests.harness import Harness, Policies
from workflows.policy_load import load_policy

POLICY_FILE = Path(__file__).parent / "policy.yaml"
TOMAS_OID = "6f1c2a9b-3d4e-4f50-8a61-b7c8d9e0f1a2"  # tomas's `teams` (Entra object) id there
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')
FLASH = re.compile(r'<p class="flash (ok|refused)"[^>]*>\s*(.*?)\s*</p>', re.S)


def console_policy() -> Policies:
    return Policies.of(load_policy(POLICY_FILE.read_text(), str(POLICY_FILE)).policy)


class Browser:
    """A client that acts as a person would in a browser: reads a form's token, posts it."""

    def __init__(self, client: TestClient[web.Request, web.Application]) -> None:
        self.client = client

    async def get(self, path: str, status: int = 200) -> str:
        async with self.client.get(path) as response:
            text = await response.text()
            assert response.status == status, (path, response.status, text[:500])
            return text

    async def csrf(self) -> str:
        found = CSRF.search(await self.get("/"))
        assert found is not None
        return found.group(1)

    async def post(self, path: str, fields: dict[str, str], status: int = 200) -> str:
        """Post a form with the session's token and follow the redirect to the page after."""
        data = {"csrf": await self.csrf(), **fields}
        async with self.client.post(path, data=data) as response:
            text = await response.text()
            assert response.status == status, (path, response.status, text[:500])
            return text

    async def act_as(self, person: str) -> None:
        await self.post("/console/as", {"person": person})

    async def open(self, version: str = "2.0", target: str = "scoring:deploy") -> str:
        page = await self.post(
            "/requests", {"target": target, "version": version, "reason": "quarterly retrain"}
        )
        found = re.search(r"<h1>Request (R[0-9A-Z]+) ", page)
        assert found is not None, flash(page)
        return found.group(1)

    async def answer(self, request_id: str, verdict: str, comment: str = "") -> str:
        page = await self.get(f"/requests/{request_id}")
        revision = REVISION.search(page)
        fields = {"verdict": verdict, "comment": comment}
        fields["revision"] = revision.group(1) if revision else "1"
        return await self.post(f"/requests/{request_id}/answer", fields)


def flash(page: str) -> tuple[str, str] | None:
    found = FLASH.search(page)
    return (found.group(1), found.group(2)) if found else None


@asynccontextmanager
async def console_site(
    engine: AsyncEngine, harness: Harness | None = None
) -> AsyncIterator[tuple[Harness, Browser]]:
    harness = harness or Harness(engine, policies=console_policy())
    mount = console_mount(Settings(host="127.0.0.1"), "local")
    app = create_app(harness.runtime(), (mount,))
    async with TestClient(TestServer(app)) as client:
        yield harness, Browser(client)
