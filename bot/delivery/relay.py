"""The outbox relay: delivers queued chat messages through each platform's `ChatPort`, and
outbound POSTs (callbacks to API clients) through one HTTP sender.

Imports only the port protocol from adapters. Per destination, messages go out in order and
one at a time; a 429 holds back only that destination for `Retry-After`; 5xx and timeouts back
off exponentially with jitter; permanent errors and messages that keep failing are
dead-lettered so they never block the rows behind them. A pass claims and composes its rows in
one transaction, sends them concurrently and records every outcome in a second one, which
also claims the next page (or, when nothing is due, reads how long to sleep). Delivery is
at least once: a crash between the platform call and marking the row sent repeats the call
(updates are idempotent).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, Row, Select, and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from adapters.port import ChatPort
from bot.delivery.compose import compose_all
from bot.delivery.marks import Attempt, DeadLetterHook, mark_all
from bot.delivery.messages import Composable, Message, decode
from bot.delivery.outbound import OutboundDelivery
from bot.delivery.outbound_kinds import outbound_delivery
from bot.delivery.retry import PassReport, RetryPolicy
from bot.delivery.sending import Claimed, RowSender
from bot.delivery.telling import tell
from bot.observability.faults import CrashPoint, no_faults
from bot.observability.metrics import Metrics
from bot.storage.database import is_outage
from bot.storage.tables import outbox
from workflows.policy import Policy

log = logging.getLogger("signoff.outbox")

_EARLIER = aliased(outbox)
# A pending row with no earlier pending row of its destination: the next one to go there.
_FIRST_IN_LINE = (
    outbox.c.status == "pending",
    ~exists().where(
        and_(
            _EARLIER.c.status == "pending",
            _EARLIER.c.destination_key == outbox.c.destination_key,
            _EARLIER.c.id < outbox.c.id,
        )
    ),
)
# A pass's statements, built once.
_DUE = (
    select(outbox)
    .where(outbox.c.next_attempt_at <= bindparam("now", type_=outbox.c.next_attempt_at.type))
    .where(*_FIRST_IN_LINE)
    .order_by(outbox.c.id)
    .limit(bindparam("batch", type_=Integer))
)
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True, of=outbox)
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(next_attempt_at=bindparam("until"))
)
_PENDING = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
_NEXT_DUE = select(func.min(outbox.c.next_attempt_at)).where(*_FIRST_IN_LINE)


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
    outbound: OutboundDelivery = field(default_factory=outbound_delivery)  # callbacks' POSTs
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self._wakeup.set()

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """One pass: claim the first due row of every destination, send them together, and
        record every outcome in one transaction."""
        now = now or self.clock()
        async with self.engine.begin() as conn:
            claimed = await self._claim(conn, now)
        report, _ = await self._deliver(Page(now, claimed))
        return report

    async def _deliver(self, page: Page, idle: float | None = None) -> tuple[PassReport, Next]:
        """Send a claimed page and record its outcomes; with `idle`, the transaction that
        records them also claims the next page, or learns how long to sleep."""
        sender = RowSender(
            self.engine, self.ports, self.policy, self.retry, self.jitter, self.outbound
        )
        attempts = await asyncio.gather(*(sender.attempt(c, page.now) for c in page.claimed))
        for attempt in attempts:
            if attempt.outcome == "sent" and attempt.message is not None:
                self.crash(f"after_api_call_before_outbox_mark_done:{attempt.message.kind}")
        following = await self._record(attempts, page.now, idle)
        outcomes = Counter(attempt.outcome for attempt in attempts)
        report = PassReport(
            sent=outcomes["sent"],
            retried=outcomes["retry"] + outcomes["wait"],
            dead=outcomes["dead"],
        )
        return report, following

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
        """Deliver until `stop` is set; between passes sleep until woken or until the next
        row is due (a paced or retried one), at most `idle` seconds."""
        following = Next(None, 0.0)
        while not stop.is_set():
            self._wakeup.clear()
            try:
                if following.page is None:
                    following = await self._claim_or_sleep(idle)
                if following.page is not None:
                    _, following = await self._deliver(following.page, idle)
                    if following.page is not None:
                        continue
            except Exception:
                log.exception("outbox pass failed; trying again in %.0f s", idle)
                following = Next(None, idle)
            waiters = [asyncio.ensure_future(e.wait()) for e in (self._wakeup, stop)]
            await asyncio.wait(
                waiters, timeout=following.pause, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in waiters:
                waiter.cancel()

    async def pending(self) -> int:
        async with self.engine.connect() as conn:
            count = await conn.scalar(_PENDING)
        return int(count or 0)

    async def _claim_or_sleep(self, idle: float) -> Next:
        async with self.engine.begin() as conn:
            return await self._next_in(conn, idle)

    async def _next_in(self, conn: AsyncConnection, idle: float) -> Next:
        """The next page, claimed now in `conn`; when nothing is due, how long to sleep, read
        in the same transaction (one transaction each time the relay goes idle, not two)."""
        now = self.clock()
        claimed = await self._claim(conn, now)
        if claimed:
            return Next(Page(now, claimed), 0.0)
        return Next(None, await self._until_next_due(conn, idle))

    async def _until_next_due(self, conn: AsyncConnection, idle: float) -> float:
        """Seconds until the earliest row that is first in line falls due, at most `idle`."""
        due: datetime | None = await conn.scalar(_NEXT_DUE)
        if due is None:
            return idle
        return min(max((due - self.clock()).total_seconds(), 0.0), idle)

    async def _claim(self, conn: AsyncConnection, now: datetime) -> list[Claimed]:
        # A row is eligible when due and first in line for its destination; claiming pushes
        # its next attempt out by the lease, so a crashed delivery is retried, not lost. What
        # to send is composed in the same transaction, a few queries for the whole page.
        query: Select[Any] = _DUE_LOCKED if conn.dialect.name == "postgresql" else _DUE
        rows = list((await conn.execute(query, {"now": now, "batch": self.batch})).all())
        if not rows:
            return []
        lease = {"ids": [r.id for r in rows], "until": now + self.retry.lease}
        await conn.execute(_LEASE, lease)
        messages = [_read(row) for row in rows]
        plain = [
            (row.platform, row.request_id, message)
            for row, message in zip(rows, messages, strict=True)
            if isinstance(message, Composable)
        ]
        plans = iter(await compose_all(conn, self.policy(), plain))
        return [
            Claimed(row, message, next(plans) if isinstance(message, Composable) else None)
            for row, message in zip(rows, messages, strict=True)
        ]

    async def _record(
        self, attempts: Sequence[Attempt], now: datetime, idle: float | None = None
    ) -> Next:
        """All of a pass's outcomes in one transaction, which with `idle` also claims the
        next page (or reads how long to sleep); should that fail, each outcome in its own, so
        one bad row cannot make the others be sent again."""
        if not attempts:
            return Next(None, 0.0)
        marking = functools.partial(
            mark_all, pace=self.retry.pace, wait=self.retry.base, on_dead=self.on_dead
        )
        following = Next(None, 0.0)
        try:
            async with self.engine.begin() as conn:
                await marking(conn, attempts, now)
                if idle is not None:
                    following = await self._next_in(conn, idle)
            recorded = list(attempts)
        except Exception as error:
            # A bug or a broken row must not fail the whole page: those rows were sent, and
            # unrecorded they would be sent again and again.
            if len(attempts) < 2 or is_outage(error):
                raise
            log.warning(
                "recording %d outbox rows together failed (%s); one by one", len(attempts), error
            )
            recorded = []
            for attempt in attempts:
                try:
                    async with self.engine.begin() as conn:
                        await marking(conn, [attempt], now)
                    recorded.append(attempt)
                except Exception as error:
                    if is_outage(error):
                        raise
                    log.exception(
                        "outbox row %s: its outcome could not be recorded; it will be "
                        "tried again when its lease ends",
                        attempt.row.id,
                    )
        for attempt in recorded:
            tell(attempt, self.metrics)
        return following


class Page(NamedTuple):
    """Rows claimed together at `now`, to be sent together."""

    now: datetime
    claimed: list[Claimed]


class Next(NamedTuple):
    """What a transaction left the relay to do: a page to send, or how long to sleep."""

    page: Page | None
    pause: float


def _read(row: Row[Any]) -> Message | ValueError:
    try:
        return decode(row.message)
    except ValueError as error:
        return error
