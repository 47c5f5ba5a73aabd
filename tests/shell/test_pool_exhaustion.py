"""No free database connection within the pool's timeout is an overload, answered as
unavailable (503, which Slack and clients retry), never a 500, and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ServiceUnavailable
from bot.storage.database import create_engine
from tests.harness import Harness


@pytest.fixture
async def one_connection(sqlite_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_database_url, pool_timeout=0.2)
    yield engine
    await engine.dispose()


async def test_a_command_waiting_past_the_pool_timeout_is_unavailable(
    one_connection: AsyncEngine,
) -> None:
    h = Harness(one_connection)
    request_id = await h.open("soo", system="doc-search")
    async with one_connection.connect():  # the process's only connection, held
        with pytest.raises(ServiceUnavailable):
            await h.answer(request_id, "mina")
    state = await h.state(request_id)
    assert state.status.value == "pending" and state.approvals == ()
    assert [e.action for e in await h.ledger()] == ["requested"]
