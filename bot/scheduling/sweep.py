"""One scheduler pass: schedule first reviews, tick what is due, deliver; imports no adapters.

Every reminder, escalation and expiry is a command through a service, re-read under its row
lock, so a second sweep running at the same moment finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.retry import PassReport
from bot.runtime import Runtime
from bot.storage.reviews import due_review_ids
from bot.storage.tables import approval_requests


@dataclass(frozen=True)
class SweepReport:
    ticked: int
    reviews_scheduled: int
    reviews_ticked: int
    delivery: PassReport

    def summary(self) -> str:
        return (
            f"{self.ticked} requests due, {self.reviews_ticked} reviews due, "
            f"{self.reviews_scheduled} first reviews scheduled; {self.delivery.sent} messages "
            f"sent, {self.delivery.retried} to retry, {self.delivery.dead} dead-lettered"
        )


async def _due_request_ids(
    conn: AsyncConnection, now: datetime, after: str, limit: int
) -> list[str]:
    rows = await conn.execute(
        select(approval_requests.c.id)
        .where(
            approval_requests.c.status == "pending",
            approval_requests.c.next_due_at <= now,
            approval_requests.c.id > after,
        )
        .order_by(approval_requests.c.id)
        .limit(limit)
    )
    return [str(i) for i in rows.scalars()]


async def _tick_all(
    runtime: Runtime,
    now: datetime,
    batch: int,
    find: Callable[[AsyncConnection, datetime, str, int], Awaitable[list[str]]],
    tick_page: Callable[[list[str]], Awaitable[int]],
) -> int:
    """Tick every due id, a page at a time, so memory stays flat with many rows."""
    ticked, last = 0, ""
    while True:
        async with runtime.engine.connect() as conn:
            due = await find(conn, now, last, batch)
        if due:
            ticked += await tick_page(due)
        if len(due) < batch:
            return ticked
        last = due[-1]


async def run_sweep(
    runtime: Runtime, now: datetime, batch: int = 200, deliver: bool = True
) -> SweepReport:
    """Everything due at `now`: first reviews, request and review ticks, then delivery.

    `deliver=False` leaves the messages to the relay running beside the scheduler.
    """

    scheduled = await runtime.reviews.schedule_missing(now)
    requests = await _tick_all(runtime, now, batch, _due_request_ids, runtime.service.tick_page)
    reviews = await _tick_all(runtime, now, batch, due_review_ids, runtime.reviews.tick_page)
    delivery = await runtime.relay.drain(now) if deliver else PassReport()
    return SweepReport(requests, scheduled, reviews, delivery)
