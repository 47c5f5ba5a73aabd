"""Long-poll waiters of API v1, woken when the request they watch changes.

On PostgreSQL every change to a request row notifies the channel `signoff_requests` with its
id (a trigger the migrations install), so a change committed by any replica wakes this one's
waiters; the listening connection is asyncpg's own. On SQLite there is one process: every
commit of this process's engine makes one query over the watched requests, and the waiters
of those that changed are woken. Imports SQLAlchemy, asyncpg and our storage tables only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Row, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.tables import approval_requests

log = logging.getLogger("signoff.api")
# Watched requests looked up in one statement, below every SQLite build's parameter limit.
CHECKED_AT_ONCE = 900

CHANNEL = "signoff_requests"
RECONNECT_SECONDS = 1.0
Mark = tuple[Any, ...]


class RequestWatch:
    """Request id -> the events of the calls waiting on it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._marks: dict[str, Mark | None] = {}
        self._checking: asyncio.Task[None] | None = None
        self._again = False
        self.postgres = engine.dialect.name == "postgresql"

    @contextlib.asynccontextmanager
    async def watching(self, request_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set when the request may have changed since this call entered."""
        woken = asyncio.Event()
        self._waiters.setdefault(request_id, set()).add(woken)
        if not self.postgres and request_id not in self._marks:
            self._marks[request_id] = None
            self._marks[request_id] = await self._mark(request_id)
        try:
            yield woken
        finally:
            waiters = self._waiters.get(request_id, set())
            waiters.discard(woken)
            if not waiters:
                self._waiters.pop(request_id, None)
                self._marks.pop(request_id, None)

    def wake(self, request_id: str) -> None:
        for woken in self._waiters.get(request_id, ()):
            woken.set()

    def wake_all(self) -> None:
        for request_id in list(self._waiters):
            self.wake(request_id)

    async def _mark(self, request_id: str) -> Mark | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._marks_query([request_id]))).first()
        return None if row is None else tuple(row[1:])

    @staticmethod
    def _marks_query(ids: list[str]) -> Any:
        c = approval_requests.c
        return select(c.id, c.status, c.revision, c.updated_at).where(c.id.in_(ids))

    def committed(self) -> None:
        """After any commit of this process: find out which watched requests changed."""
        if not self._waiters:
            return
        if self._checking is not None and not self._checking.done():
            self._again = True
            return
        self._checking = asyncio.get_running_loop().create_task(self._check())

    async def _check(self) -> None:
        while True:
            self._again = False
            watched = list(self._waiters)
            rows: list[Row[Any]] = []
            try:
                async with self.engine.connect() as conn:
                    # In slices: SQLite bounds how many parameters one statement may bind.
                    for start in range(0, len(watched), CHECKED_AT_ONCE):
                        ids = watched[start : start + CHECKED_AT_ONCE]
                        rows += (await conn.execute(self._marks_query(ids))).all()
            except Exception as error:  # the waiters time out and read again themselves
                log.warning("could not check watched requests: %s", error)
                return
            for row in rows:
                mark: Mark = tuple(row[1:])
                if row.id in self._marks and self._marks[row.id] != mark:
                    self._marks[row.id] = mark
                    self.wake(row.id)
            if not self._again:
                return

    async def running(self, _: object) -> AsyncIterator[None]:
        """While the server runs: hear this process's commits, or PostgreSQL's notices."""
        if not self.postgres:
            loop = asyncio.get_running_loop()

            def on_commit(_connection: Any) -> None:
                loop.call_soon(self.committed)

            event.listen(self.engine.sync_engine, "commit", on_commit)
            yield
            event.remove(self.engine.sync_engine, "commit", on_commit)
            return
        listening = asyncio.create_task(self._listen_forever())
        yield
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening

    async def _listen_forever(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        url = make_url(str(self.engine.url)).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)

        def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            self.wake(payload)

        while True:
            try:
                conn = await asyncpg.connect(dsn)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("cannot listen for request changes: %s", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(_setter(lost))
            try:
                await conn.add_listener(CHANNEL, notified)
                # A change may have come while nobody listened: everyone looks again.
                self.wake_all()
                await lost.wait()
                log.warning("lost the connection that listens for request changes")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()
            self.wake_all()
            await asyncio.sleep(RECONNECT_SECONDS)


def _setter(flag: asyncio.Event) -> Any:
    return lambda _conn: flag.set()
