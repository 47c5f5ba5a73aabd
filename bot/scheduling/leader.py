"""Which process runs the sweeps: a PostgreSQL advisory lock, or the only process on SQLite.

Imports no adapters. The lock is session-level and lives on a connection of its own, so it
dies with its holder: when the leader's process dies PostgreSQL ends its session, and the next
replica to ask becomes leader. Sweeps stay safe without it (every tick re-reads its row under
a lock); leadership only keeps replicas from doing the same work.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("signoff.scheduler")

# An arbitrary constant shared by every replica of Signoff: "SgnOff" as a 64-bit integer.
LOCK_KEY = 0x53676E4F6666


class Leadership(Protocol):
    async def hold(self) -> bool:
        """Whether this process leads now; acquires the role when it is free."""
        ...

    async def release(self) -> None: ...


class OnlyProcess:
    """SQLite is for one process, which always leads."""

    async def hold(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class AdvisoryLock:
    """PostgreSQL: `pg_try_advisory_lock` held on a dedicated connection."""

    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    async def hold(self) -> bool:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                await self._conn.commit()
                return True
            except Exception as error:  # the session, and with it the lock, is gone
                log.warning("lost the scheduler lock's connection (%s); asking again", error)
                await self._drop()
        conn = await self.engine.connect()
        try:
            result = await conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            acquired = bool(result.scalar())
            await conn.commit()  # the lock is held by the session, not the transaction
        except Exception:
            await conn.invalidate()
            await conn.close()
            raise
        if not acquired:
            await conn.close()
            return False
        self._conn = conn
        log.info("this process now runs the scheduler (PostgreSQL advisory lock %d)", self.key)
        return True

    async def release(self) -> None:
        if self._conn is not None:
            log.info("giving up the scheduler lock")
            await self._drop()

    async def _drop(self) -> None:
        # Invalidated, not returned to the pool: a pooled session would keep the lock.
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            finally:
                await conn.close()


def leadership_for(engine: AsyncEngine) -> Leadership:
    return AdvisoryLock(engine) if engine.dialect.name == "postgresql" else OnlyProcess()
