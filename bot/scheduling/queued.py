"""What one sweep queued: counted by outbox id, and delivered while it is soon due; no adapters.

A sweep run from the command line has its own relay and no server beside it to finish the
job: the rows it queued must go before it exits. Pacing (one message a second per chat) and a
platform's Retry-After put some rows a moment later; those are waited for, up to `patience`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from bot.delivery.retry import PassReport
from bot.runtime import Runtime
from bot.storage.tables import outbox

RECHECK_SECONDS = 0.2


@dataclass(frozen=True)
class Delivered:
    """What became of the messages a sweep queued, and of everything else due meanwhile."""

    report: PassReport
    waiting: int  # of the rows queued, still pending when it stopped


async def last_outbox_id(runtime: Runtime) -> int:
    """The newest outbox row before the sweep: what it queues comes after."""
    async with runtime.engine.connect() as conn:
        return int(await conn.scalar(select(func.coalesce(func.max(outbox.c.id), 0))) or 0)


async def queued_since(runtime: Runtime, mark: int) -> int:
    async with runtime.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.id > mark)
        )
    return int(count or 0)


async def deliver_queued(runtime: Runtime, mark: int, patience: timedelta) -> Delivered:
    """Drain the relay until the rows after `mark` are handled or `patience` has passed.

    Patience is real time, whatever the runtime's clock says: a sweep at a given --now, or a
    test's frozen clock, still stops.
    """
    total = PassReport()
    give_up = time.monotonic() + patience.total_seconds()
    while True:
        report = await runtime.relay.drain()
        total.sent += report.sent
        total.retried += report.retried
        total.dead += report.dead
        async with runtime.engine.connect() as conn:
            waiting = await conn.scalar(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.id > mark, outbox.c.status == "pending")
            )
        if not waiting or time.monotonic() >= give_up:
            return Delivered(total, int(waiting or 0))
        if not report.handled:  # held back by pacing or a Retry-After: a moment later
            await asyncio.sleep(RECHECK_SECONDS)
