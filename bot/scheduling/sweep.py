"""One scheduler pass: schedule first reviews, tick what is due, deliver; imports no adapters.

Every reminder, escalation and expiry is a command through a service, re-read under its row
lock, so a second sweep running at the same moment finds nothing left to do. One system or
row that fails is logged, counted and skipped: it must not stop every other reminder, escalation
and expiry. A database that is down stops the whole sweep, which the scheduler retries.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import ServiceUnavailable
from bot.delivery.retry import PassReport
from bot.observability.metrics import Metrics
from bot.runtime import Runtime
from bot.scheduling.queued import Delivered, deliver_queued, last_outbox_id, queued_since
from bot.storage.reviews import due_review_ids
from bot.storage.tables import approval_requests

log = logging.getLogger("signoff.scheduler")


@dataclass(frozen=True)
class SweepReport:
    ticked: int
    reviews_scheduled: int
    reviews_ticked: int
    delivery: PassReport
    failed: int = 0
    queued: int = 0
    # Of the messages queued, those still pending when the sweep stopped delivering.
    waiting: int = 0

    def summary(self) -> str:
        failed = f", {self.failed} failed (see the log)" if self.failed else ""
        waiting = f", {self.waiting} of them still waiting" if self.waiting else ""
        return (
            f"{self.ticked} requests due, {self.reviews_ticked} reviews due, "
            f"{self.reviews_scheduled} first reviews scheduled{failed}; {self.queued} messages "
            f"queued; {self.delivery.sent} sent, {self.delivery.retried} attempts to retry, "
            f"{self.delivery.dead} dead-lettered{waiting}"
        )


@dataclass
class _Failures:
    metrics: Metrics
    count: int = 0

    def record(self, stage: str, what: str, error: Exception) -> None:
        self.count += 1
        self.metrics.sweep_failures.labels(stage=stage).inc()
        log.error("sweep: %s failed and was skipped: %r", what, error, exc_info=error)


async def _one_by_one(
    stage: str,
    label: str,
    items: Sequence[str],
    run: Callable[[list[str]], Awaitable[int]],
    failures: _Failures,
) -> int:
    """`run` over all items at once; when that fails, over each alone, to skip only the bad.

    The fast path stays one transaction per page; only a failed page pays for one per item.
    """
    try:
        return await run(list(items))
    except ServiceUnavailable:
        raise
    except Exception:  # which item it was is found below
        pass
    done = 0
    for item in items:
        try:
            done += await run([item])
        except ServiceUnavailable:
            raise
        except Exception as error:  # one bad system or row must not stop the sweep
            failures.record(stage, f"{label} {item}", error)
    return done


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
    stage: str,
    failures: _Failures,
) -> int:
    """Tick every due id, a page at a time, so memory stays flat with many rows."""
    ticked, last = 0, ""
    while True:
        async with runtime.engine.connect() as conn:
            due = await find(conn, now, last, batch)
        if due:
            ticked += await _one_by_one(stage, stage, due, tick_page, failures)
        if len(due) < batch:
            return ticked
        last = due[-1]


async def run_sweep(
    runtime: Runtime,
    now: datetime,
    batch: int = 200,
    deliver: bool = True,
    patience: timedelta = timedelta(0),
) -> SweepReport:
    """Everything due at `now`: first reviews, request and review ticks, then delivery.

    `deliver=False` leaves the messages to the relay running beside the scheduler; otherwise
    rows due within `patience` (paced, or after a Retry-After) are waited for.
    """
    failures = _Failures(runtime.metrics)
    mark = await last_outbox_id(runtime)

    async def schedule(systems: list[str]) -> int:
        return await runtime.reviews.schedule_missing(now, systems)

    systems = sorted(runtime.policies.current.policy.systems)
    scheduled = await _one_by_one(
        "first-review", "first review of system", systems, schedule, failures
    )
    service, reviews = runtime.service, runtime.reviews
    requests = await _tick_all(
        runtime, now, batch, _due_request_ids, service.tick_page, "request", failures
    )
    ticked = await _tick_all(
        runtime, now, batch, due_review_ids, reviews.tick_page, "review", failures
    )
    queued = await queued_since(runtime, mark)
    delivered = (
        await deliver_queued(runtime, mark, patience) if deliver else Delivered(PassReport(), 0)
    )
    return SweepReport(
        requests,
        scheduled,
        ticked,
        delivered.report,
        failures.count,
        queued,
        delivered.waiting,
    )
