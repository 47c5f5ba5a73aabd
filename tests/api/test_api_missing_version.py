"""A deploy asked through API v1 without a version is refused naming the body's field, not
the chat command a person would type; chat's answer keeps naming the command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.api import api_mount
from bot.services.api_tokens import TokenService
from bot.storage.tables import approval_requests
from tests.harness import Harness, build_policy
from tests.policies import actor
from workflows.commands import OpenRequest
from workflows.machine import step
from workflows.machine_types import Problem

PROBLEM = "/api/v1/problems/"


def _with_client(raw: dict[str, Any]) -> None:
    raw["clients"] = {"support-agent": {"token": True, "may_request": {"support-bot": ["deploy"]}}}


async def test_a_deploy_without_a_version_names_the_missing_field(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.policies.replace(build_policy(_with_client))
    token = await TokenService(h.uow).issue("support-agent")
    app = web.Application()
    api_mount()(app, h.runtime())
    async with TestClient(TestServer(app)) as http:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "no-version"}
        sent = {"system": "support-bot", "reason": "refund policy update"}
        refused = await http.post("/api/v1/requests", json=sent, headers=headers)
        assert refused.status == 422, await refused.text()
        problem = await refused.json()
    assert problem["type"] == PROBLEM + "invalid-field"
    assert problem["detail"] == "version: required for activity deploy"
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(approval_requests)) == 0


def test_chat_is_still_told_the_command_to_type() -> None:
    command = OpenRequest(request_id="R1", actor=actor("soo"), system="credit-scoring")
    outcome = step(None, command, build_policy(), datetime(2026, 12, 1, tzinfo=UTC), "d" * 64)
    assert outcome.outcome.code == Problem.VERSION_REQUIRED
    assert outcome.outcome.message == (
        "Name the version to deploy: deploy credit-scoring <version>."
    )
