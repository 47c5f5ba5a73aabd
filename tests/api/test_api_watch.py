"""The long-poll watch on SQLite: after a commit, every watched request is looked at, however
many there are, and only the ones that changed wake their waiters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.api_watch import CHECKED_AT_ONCE, RequestWatch
from bot.storage.database import create_engine
from tests.harness import Harness


@pytest.fixture
async def sqlite_engine(sqlite_database_url: str) -> AsyncIterator[AsyncEngine]:
    """SQLite only: PostgreSQL wakes waiters by LISTEN/NOTIFY (tests/api/test_api_replicas.py)."""
    engine = create_engine(sqlite_database_url)
    yield engine
    await engine.dispose()


async def test_a_waiter_beyond_the_first_slice_is_woken_by_its_decision(
    sqlite_engine: AsyncEngine,
) -> None:
    engine = sqlite_engine
    h = Harness(engine)
    quiet = await h.open("soo", system="doc-search")
    decided = await h.open("soo", system="doc-search")
    watch = RequestWatch(engine)
    running = contextlib.asynccontextmanager(watch.running)(None)
    async with running, contextlib.AsyncExitStack() as stack:
        for n in range(6 * CHECKED_AT_ONCE):  # requests nobody asked for: never change
            stack.enter_context(watch.watching(f"R-NONE-{n}"))
        quiet_watch = stack.enter_context(watch.watching(quiet))
        decided_watch = stack.enter_context(watch.watching(decided))
        assert await watch.ready(quiet_watch) and await watch.ready(decided_watch)
        unchanged, woken = quiet_watch.next_change(), decided_watch.next_change()
        assert (await h.answer(decided, "mina")).ok
        await asyncio.wait_for(woken, timeout=5)
        await asyncio.sleep(0.1)  # any wrong wake-up would have come with it
        assert not unchanged.done()
