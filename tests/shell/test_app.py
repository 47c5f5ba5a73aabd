"""The HTTP application: health, metrics, and a database outage answered with 503."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ServiceUnavailable
from bot.runtime import Runtime
from bot.server import create_app
from tests.harness import Harness


def _runtime(h: Harness) -> Runtime:
    return h.runtime()


async def test_health_and_metrics(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.open("soo", system="doc-search")
    async with TestClient(TestServer(create_app(_runtime(h)))) as client:
        health = await client.get("/healthz")
        assert health.status == 200
        body = await health.json()
        assert body["status"] == "ok" and body["database"] == "up"
        assert body["policy_digest"] == h.policies.current.digest
        metrics = await client.get("/metrics")
        text = await metrics.text()
        assert 'signoff_commands_total{action="open",outcome="opened"} 1.0' in text
        assert "signoff_outbox_pending" in text
        index = await client.get("/")
        assert "credit-scoring" in await index.text()


async def test_an_unreachable_database_is_a_503_not_a_500(
    unreachable_engine: AsyncEngine,
) -> None:
    h = Harness(unreachable_engine)
    async with TestClient(TestServer(create_app(_runtime(h)))) as client:
        health = await client.get("/healthz")
        assert health.status == 503
        assert (await health.json())["database"] == "down"


async def test_a_command_during_an_outage_is_unavailable_and_records_nothing(
    unreachable_engine: AsyncEngine,
) -> None:
    h = Harness(unreachable_engine)
    with pytest.raises(ServiceUnavailable):
        await h.answer("R1", "mina")
