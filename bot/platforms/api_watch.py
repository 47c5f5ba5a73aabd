"""Long-poll waiters of API v1, woken when the request they watch changes.

Each watched request has a generation, moved on by every change heard: a read made at one
generation is current for as long as the generation stays, which is what lets the polls share
one read of a request (`bot/platforms/api_polls.py`). On PostgreSQL every change to a request
row notifies the channel `signoff_requests` with its id (a trigger the migrations install), so
a change committed by any replica wakes this one's waiters; the listening connection is
asyncpg's own, and while it is down nothing is current. On SQLite there is one process: every
commit of this process's engine makes one query over the watched requests, and the waiters of
those that changed are woken. Imports SQLAlchemy, asyncpg and our storage tables only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Row, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.tables import approval_requests

log = logging.getLogger("signoff.api")
# Watched requests looked up in one statement, below every SQLite build's parameter limit.
CHECKED_AT_ONCE = 900
# A request nobody waits on is still watched this long, so that a waiter asking again after
# its answer finds its generation (and the read made at it) instead of starting over.
LINGER_SECONDS = 10.0

CHANNEL = "signoff_requests"
RECONNECT_SECONDS = 1.0
Mark = tuple[Any, ...]


class Watched:
    """One watched request: its generation, the futures of the calls waiting for its next
    change, and what the polls keep of it (`memo`, theirs to fill)."""

    __slots__ = ("drop", "flight", "generation", "mark", "marked", "memo", "users", "waiters")

    def __init__(self) -> None:
        self.generation = 0
        self.waiters: set[asyncio.Future[None]] = set()
        self.users = 0
        self.mark: Mark | None = None
        # SQLite: done once the row's mark is known; no read counts as current before that.
        self.marked: asyncio.Task[None] | None = None
        self.memo: Any = None
        self.flight: Any = None
        self.drop: asyncio.TimerHandle | None = None

    def next_change(self) -> asyncio.Future[None]:
        """A future done at the next change heard; register it before reading, so a change
        made between the read and the wait is not missed. The caller discards it after."""
        changed = asyncio.get_running_loop().create_future()
        self.waiters.add(changed)
        return changed

    def changed(self) -> None:
        self.generation += 1
        waiters, self.waiters = self.waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


class RequestWatch:
    """Request id -> what is known of its changes while someone polls it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._watched: dict[str, Watched] = {}
        self._checking: asyncio.Task[None] | None = None
        self._again = False
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: whether the listening connection is up; changes are heard only then.
        self.listening = False

    @contextlib.contextmanager
    def watching(self, request_id: str) -> Iterator[Watched]:
        """The request's watch while the block runs (and a little after)."""
        watched = self._watched.get(request_id)
        if watched is None:
            watched = self._watched[request_id] = Watched()
        failed = watched.marked is not None and watched.marked.done() and watched.marked.exception()
        if not self.postgres and (watched.marked is None or failed):
            watched.marked = asyncio.get_running_loop().create_task(
                self._first_mark(request_id, watched)
            )
        if watched.drop is not None:
            watched.drop.cancel()
            watched.drop = None
        watched.users += 1
        try:
            yield watched
        finally:
            watched.users -= 1
            if watched.users == 0 and self._watched.get(request_id) is watched:
                watched.drop = asyncio.get_running_loop().call_later(
                    LINGER_SECONDS, self._drop, request_id, watched
                )

    def _drop(self, request_id: str, watched: Watched) -> None:
        if watched.users == 0 and self._watched.get(request_id) is watched:
            del self._watched[request_id]

    async def ready(self, watched: Watched) -> bool:
        """Whether the watch hears the request's changes now, so a read made from now on is
        current until its generation moves; on SQLite, once the row's first mark is known."""
        if self.postgres:
            return self.listening
        if watched.marked is None:
            return False
        if not watched.marked.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(watched.marked)
        return watched.marked.done() and watched.marked.exception() is None

    def current(self, watched: Watched, generation: int) -> bool:
        """Whether a read made at `generation`, after `ready`, is current still."""
        return watched.generation == generation and (self.listening or not self.postgres)

    def current_waiters(self, request_id: str) -> int:
        """How many calls wait for the request's next change now."""
        watched = self._watched.get(request_id)
        return 0 if watched is None else len(watched.waiters)

    def wake(self, request_id: str) -> None:
        watched = self._watched.get(request_id)
        if watched is not None:
            watched.changed()

    def wake_all(self) -> None:
        for watched in list(self._watched.values()):
            watched.changed()

    async def _first_mark(self, request_id: str, watched: Watched) -> None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(self._marks_query([request_id]))).first()
        mark = None if row is None else tuple(row[1:])
        # A check that ran meanwhile saw the row before this did, or after: either way it
        # moved the generation, and a read waits for this mark before it counts.
        if watched.mark is None:
            watched.mark = mark

    @staticmethod
    def _marks_query(ids: list[str]) -> Any:
        c = approval_requests.c
        return select(c.id, c.status, c.revision, c.updated_at).where(c.id.in_(ids))

    def committed(self) -> None:
        """After any commit of this process: find out which watched requests changed."""
        if not self._watched:
            return
        if self._checking is not None and not self._checking.done():
            self._again = True
            return
        self._checking = asyncio.get_running_loop().create_task(self._check())

    async def _check(self) -> None:
        while True:
            self._again = False
            watched = list(self._watched)
            rows: list[Row[Any]] = []
            try:
                async with self.engine.connect() as conn:
                    # In slices: SQLite bounds how many parameters one statement may bind.
                    for start in range(0, len(watched), CHECKED_AT_ONCE):
                        ids = watched[start : start + CHECKED_AT_ONCE]
                        rows += (await conn.execute(self._marks_query(ids))).all()
            except Exception as error:  # the waiters time out and read again themselves
                log.warning("could not check watched requests: %s", error)
                for unsure in self._watched.values():
                    unsure.generation += 1  # a change may have gone unheard: no read is current
                return
            for row in rows:
                mark: Mark = tuple(row[1:])
                entry = self._watched.get(row.id)
                if entry is not None and entry.mark != mark:
                    entry.mark = mark
                    entry.changed()
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
            conn.add_termination_listener(self._deaf(lost))
            try:
                await conn.add_listener(CHANNEL, notified)
                # A change may have come while nobody listened: everyone looks again.
                self.listening = True
                self.wake_all()
                await lost.wait()
                log.warning("lost the connection that listens for request changes")
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await conn.close()
            self.wake_all()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _deaf(self, lost: asyncio.Event) -> Any:
        """What asyncpg calls when the listening connection ends: from that moment no read
        is current, and every waiter looks again."""

        def ended(_conn: object) -> None:
            self.listening = False
            self.wake_all()
            lost.set()

        return ended
