"""The outbox relay: delivers queued chat messages through each platform's `ChatPort`.

Imports only the port protocol from adapters. Per destination, messages go out in order and
one at a time; a 429 holds back only that destination for `Retry-After`; 5xx and timeouts back
off exponentially with jitter; permanent errors and messages that keep failing are
dead-lettered so they never block the rows behind them. Delivery is at least once: a crash
between the platform call and marking the row sent repeats the call (updates are idempotent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from adapters.port import ChatPort, PermanentFailure, RateLimited, TemporaryFailure
from bot.compose import NothingToSend, compose
from bot.faults import CrashPoint, no_faults
from bot.incident_routing import ROOM_KINDS
from bot.incident_store import record_room, room_of
from bot.metrics import Metrics
from bot.retry_policy import PassReport, RetryPolicy
from bot.room_delivery import (
    RoomNotReady,
    abandon_room_tasks,
    deliver_room_task,
    wake_room_tasks,
)
from bot.store import record_card_location
from bot.tables import outbox
from workflows.policy import Policy

log = logging.getLogger("signoff.outbox")

DeadLetterHook = Callable[[AsyncConnection, Any, str, datetime], Awaitable[None]]


@dataclass
class OutboxRelay:
    engine: AsyncEngine
    ports: Mapping[str, ChatPort]
    policy: Callable[[], Policy]
    clock: Callable[[], datetime]
    metrics: Metrics
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))
    batch: int = 200
    crash: CrashPoint = no_faults
    # Called in the transaction that dead-letters a row, so what it records commits with it.
    on_dead: DeadLetterHook | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wakeup.set()

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """One pass: claim the first due row of every destination and deliver them together."""
        now = now or self.clock()
        claimed = await self._claim(now)
        report = PassReport()
        results = await asyncio.gather(*(self._deliver(row, now) for row in claimed))
        for outcome in results:
            setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    async def drain(self, now: datetime | None = None, max_passes: int = 1000) -> PassReport:
        """Passes until nothing more is due at `now` (tests and `signoff sweep`)."""
        total = PassReport()
        for _ in range(max_passes):
            report = await self.run_once(now)
            if not report.handled:
                break
            total.sent += report.sent
            total.retried += report.retried
            total.dead += report.dead
        return total

    async def run_forever(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Deliver until `stop` is set; sleep until woken, or `idle` seconds for retries."""
        while not stop.is_set():
            self._wakeup.clear()
            try:
                report = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; trying again in %.0f s", idle)
                report = PassReport()
            if report.handled:
                continue
            waiters = [asyncio.ensure_future(e.wait()) for e in (self._wakeup, stop)]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def pending(self) -> int:
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
            )
        return int(count or 0)

    async def _claim(self, now: datetime) -> list[Any]:
        # A row is eligible when due and first in line for its destination; claiming pushes
        # its next attempt out by the lease, so a crashed delivery is retried, not lost.
        earlier = aliased(outbox)
        first_in_line = ~exists().where(
            and_(
                earlier.c.status == "pending",
                earlier.c.destination_key == outbox.c.destination_key,
                earlier.c.id < outbox.c.id,
            )
        )
        query = (
            select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now, first_in_line)
            .order_by(outbox.c.id)
            .limit(self.batch)
        )
        async with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=outbox)
            rows = list((await conn.execute(query)).all())
            if rows:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=now + self.retry.lease)
                )
        return rows

    async def _deliver(self, row: Any, now: datetime) -> str:
        port = self.ports.get(row.platform)
        if port is None:
            return await self._dead(row, now, f"platform {row.platform} is not enabled")
        policy = self.policy()
        try:
            decoded = json.loads(row.message)
            if decoded["kind"] in ROOM_KINDS:
                new_ref = await deliver_room_task(self.engine, port, policy, row.platform, decoded)
            else:
                async with self.engine.connect() as conn:
                    to, ref, message = await compose(
                        conn, policy, row.platform, row.request_id, decoded
                    )
                if ref is not None:
                    await port.update(ref, message)
                    new_ref = None
                else:
                    assert to is not None
                    new_ref = await port.post(to, message)
        except NothingToSend as error:
            return await self._dead(row, now, str(error))
        except RoomNotReady:
            return await self._wait(row, now)
        except PermanentFailure as error:
            return await self._dead(row, now, f"permanent: {error}")
        except RateLimited as error:
            wait = timedelta(seconds=max(error.retry_after, 0.0))
            return await self._retry(row, now, now + wait, "rate-limited", str(error), False)
        except (TemporaryFailure, TimeoutError, OSError) as error:
            return await self._backoff(row, now, "temporary", f"{type(error).__name__}: {error}")
        except Exception as error:
            log.exception("outbox row %s failed unexpectedly", row.id)
            return await self._backoff(row, now, "error", f"{type(error).__name__}: {error}")
        self.crash(f"after_api_call_before_outbox_mark_done:{decoded['kind']}")
        await self._sent(row, now, decoded, new_ref)
        return "sent"

    async def _pace(self, conn: AsyncConnection, destination: str, not_before: datetime) -> None:
        """Hold the destination's next message until `not_before`."""
        following = (
            select(func.min(outbox.c.id))
            .where(outbox.c.destination_key == destination, outbox.c.status == "pending")
            .scalar_subquery()
        )
        await conn.execute(
            update(outbox)
            .where(outbox.c.id == following, outbox.c.next_attempt_at < not_before)
            .values(next_attempt_at=not_before)
        )

    async def _sent(
        self, row: Any, now: datetime, message: dict[str, Any], ref: dict[str, str] | None
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None)
            )
            if self.retry.pace:
                await self._pace(conn, row.destination_key, now + self.retry.pace)
            if ref is not None and message["kind"] == "room":
                await record_room(conn, message["incident_id"], row.platform, ref, now)
                await wake_room_tasks(conn, message["incident_id"], row.platform, now)
            if ref is not None and message["kind"] == "card":
                to = message["to"]
                await record_card_location(
                    conn,
                    request_id=row.request_id,
                    platform=row.platform,
                    audience=message["audience"],
                    person=to["key"] if to["kind"] == "person" else None,
                    ref=ref,
                    outbox_id=row.id,
                    now=now,
                )
        self.metrics.delivered.labels(platform=row.platform).inc()

    async def _wait(self, row: Any, now: datetime) -> str:
        """Not a failure: the row needs its incident's room, whose row will wake it.

        The room may have been made while this row was being tried; then it is due at once.
        A room that never comes (its row dead-lettered) leaves the row to age out.
        """
        if now - row.created_at >= self.retry.max_age:
            return await self._dead(row, now, "the incident's room was never made")
        incident = json.loads(row.message)["incident_id"]
        this_row = update(outbox).where(outbox.c.id == row.id)
        async with self.engine.begin() as conn:
            # The row's lock first, then the look: a room made since is seen now, or its wake
            # waits for this lock and comes after, so the row is never left asleep.
            await conn.execute(this_row.values(next_attempt_at=now + self.retry.base))
            if await room_of(conn, incident, row.platform) is not None:
                await conn.execute(this_row.values(next_attempt_at=now))
        return "retried"

    async def _backoff(self, row: Any, now: datetime, reason: str, error: str) -> str:
        attempts = row.attempts + 1
        too_old = now - row.created_at >= self.retry.max_age
        if attempts >= self.retry.max_attempts or too_old:
            why = "too old" if too_old else f"{attempts} attempts"
            return await self._dead(row, now, f"gave up after {why}; last error: {error}")
        next_at = now + self.retry.backoff(attempts, self.jitter())
        return await self._retry(row, now, next_at, reason, error, True)

    async def _retry(
        self, row: Any, now: datetime, next_at: datetime, reason: str, error: str, counts: bool
    ) -> str:
        attempts = row.attempts + 1 if counts else row.attempts
        async with self.engine.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(next_attempt_at=next_at, attempts=attempts, last_error=error[:2000])
            )
        self.metrics.retried.labels(platform=row.platform, reason=reason).inc()
        log.warning(
            "outbox row %s to %s: %s; next attempt at %s",
            row.id,
            row.destination_key,
            error,
            next_at.isoformat(),
        )
        return "retried"

    async def _dead(self, row: Any, now: datetime, error: str) -> str:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id)
                .values(status="dead", attempts=row.attempts + 1, last_error=error[:2000])
            )
            if self.on_dead is not None:
                await self.on_dead(conn, row, error, now)
            message = json.loads(row.message)
            if message.get("kind") == "room":
                await abandon_room_tasks(conn, message["incident_id"], row.platform, error)
        self.metrics.dead.labels(platform=row.platform).inc()
        log.error(
            "outbox row %s to %s dead-lettered: %s. The decision it reports stands; "
            "its last_error in the outbox table says what to fix.",
            row.id,
            row.destination_key,
            error,
        )
        return "dead"
