"""The sweep scheduler inside the app: restarts, its job store, and who leads (REM-02, REM-06)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp.test_utils import TestServer
from apscheduler.jobstores.memory import MemoryJobStore
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduling.leader import AdvisoryLock, OnlyProcess, leadership_for
from bot.scheduling.scheduler import JOB_ID, SCHEDULER, scheduler_mount
from bot.server import create_app
from bot.storage.database import create_engine
from bot.storage.tables import metadata
from tests.harness import T0, Harness, review_policy
from workflows.model import Status


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what} did not happen")


async def test_rem_02_five_restarts_one_job_and_nothing_sent_twice(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    request = await h.open("soo")  # high tier: reminded at 4 h, expires at 72 h
    reviewed_at = T0 + timedelta(days=23)  # the first review's 7-day reminder is then due

    async def count(action: str) -> int:
        return sum(e.action == action for e in await h.ledger())

    for restart in range(5):
        # Each start is a new process's scheduler; time moves on while it is down.
        h.clock.now = [T0 + timedelta(hours=5), reviewed_at, reviewed_at][min(restart, 2)]
        app = create_app(h.runtime(), (scheduler_mount(0.05, h.clock),))
        async with TestServer(app):
            assert app[SCHEDULER].jobs() == [JOB_ID]
            await _until(lambda: _drained(h), "a sweep and its delivery")
            await asyncio.sleep(0.2)  # several more sweeps at the same moment
    assert await count("reminded") == 1
    assert await count("review-scheduled") == 1
    assert await count("review-reminded") == 1
    texts = [c.message.text for c in h.chat.calls if c.destination == "U0MINA"]
    assert len([t for t in texts if t.startswith("Reminder: Request")]) == 1
    assert len([t for t in texts if "risk review" in t and "in 7 days" in t]) == 1
    assert (await h.state(request)).status is Status.EXPIRED
    assert await count("expired") == 1


async def _drained(h: Harness) -> bool:
    return bool(await h.ledger()) and await h.relay.pending() == 0


async def test_restart_with_work_pending_loses_nothing(engine: AsyncEngine) -> None:
    """Stopped while requests and reviews wait; restarted later: everything due happens once."""
    h = Harness(engine)
    h.policies.replace(review_policy())
    requests = [await h.open("soo"), await h.open("soo")]
    app = create_app(h.runtime(), (scheduler_mount(0.05, h.clock),))
    async with TestServer(app):
        await _until(lambda: _drained(h), "the first sweep")
    h.clock.now = T0 + timedelta(days=40)  # past every deadline while the server was down
    app = create_app(h.runtime(), (scheduler_mount(0.05, h.clock),))
    async with TestServer(app):

        async def settled() -> bool:
            states = [(await h.state(r)).status for r in requests]
            return all(s is Status.EXPIRED for s in states) and await _drained(h)

        await _until(settled, "the expiries")
        await asyncio.sleep(0.2)
    actions = [e.action for e in await h.ledger()]
    assert actions.count("expired") == 2
    assert actions.count("review-escalated") == 1  # overdue by ten days: escalated, once
    assert actions.count("review-reminded") == 0  # the missed reminders were skipped
    assert await h.chain_ok()


def test_rem_06_no_pickled_job_store(engine: AsyncEngine) -> None:
    h = Harness(engine)
    app = create_app(h.runtime(), (scheduler_mount(60, h.clock),))
    stores = app[SCHEDULER].scheduler._jobstores
    assert stores and all(isinstance(s, MemoryJobStore) for s in stores.values())
    assert not [t for t in metadata.tables if "apscheduler" in t]


async def test_one_leader_at_a_time(database_url: str) -> None:
    engines = [create_engine(database_url), create_engine(database_url)]
    first, second = (leadership_for(e) for e in engines)
    try:
        if engines[0].dialect.name != "postgresql":
            assert isinstance(first, OnlyProcess)  # SQLite is for one process
            assert await first.hold()
            return
        assert isinstance(first, AdvisoryLock) and isinstance(second, AdvisoryLock)
        assert await first.hold() and await first.hold()
        assert not await second.hold()
        await first.release()
        assert await second.hold()
        # The leader's session dies (its process was killed): the lock goes with it.
        holders = (
            "FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        async with engines[0].connect() as admin:
            await admin.execute(text(f"SELECT pg_terminate_backend(pid) {holders}"))
            await admin.commit()
            # Terminating only signals the backend; its locks go when it has exited.
            for _ in range(100):
                if not (await admin.execute(text(f"SELECT count(*) {holders}"))).scalar():
                    break
                await admin.commit()
                await asyncio.sleep(0.1)
        assert await first.hold()
        assert not await second.hold()  # it noticed its session is gone
        await first.release()
    finally:
        for leadership in (first, second):
            await leadership.release()  # a session still checked out would outlive dispose
        for engine in engines:
            await engine.dispose()
