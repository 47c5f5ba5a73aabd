"""The unit of work every service command runs in: one transaction, effects, the ledger last.

Imports no platform adapter, only the ports. `async with uow.command(label) as tx` reads the
clock and the policy once, opens the transaction and turns a database outage into
`ServiceUnavailable`; the service steps its machine and hands the steps to `tx.record`, which
queues their effects at once and keeps their audit events for the ledger, appended last, just
before the commit: from the ledger head's lock to the commit every other writer waits. After
the commit the outcomes are counted, each audit event is logged on a line of its own that
names its subject, and the relay is woken.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.port import ChatPort, ServiceUnavailable
from bot.delivery.callbacks import callback_targets, enqueue_callbacks
from bot.delivery.enqueue import enqueue
from bot.delivery.reads import TransactionReads
from bot.observability.faults import CrashPoint, no_faults
from bot.observability.metrics import Metrics
from bot.storage.database import is_outage
from bot.storage.ledger import append_events
from bot.storage.requests import save_requests
from workflows.commands import Command
from workflows.effects import Effect
from workflows.incidents import IncidentEffect
from workflows.ledger import AuditEvent, LedgerEntry
from workflows.machine import step
from workflows.machine_types import Outcome, Step
from workflows.model import ApprovalRequest
from workflows.policy import Policy

log = logging.getLogger("signoff.service")
events_log = logging.getLogger("signoff.events")


class LoadedPolicyLike(Protocol):
    @property
    def policy(self) -> Policy: ...

    @property
    def digest(self) -> str: ...


class PolicySource(Protocol):
    @property
    def current(self) -> LoadedPolicyLike: ...


class Recorded(Protocol):
    """What a step of any machine leaves to record: audit events, effects and an outcome."""

    @property
    def audit(self) -> tuple[AuditEvent, ...]: ...

    @property
    def effects(self) -> tuple[Effect | IncidentEffect, ...]: ...

    @property
    def outcome(self) -> Outcome: ...


@dataclass
class Transaction:
    """One command's transaction: its connection, its moment and the policy it runs under."""

    conn: AsyncConnection
    now: datetime
    loaded: LoadedPolicyLike
    ports: Mapping[str, ChatPort]
    queued: int = 0
    recorded: bool = False
    events: list[AuditEvent] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    # The ledger entries `events` became, once flushed: what the caller may show of the
    # transaction without reading it back.
    entries: list[LedgerEntry] = field(default_factory=list)
    # What more than one step of the command asks of the database, read once.
    reads: TransactionReads = field(init=False)

    def __post_init__(self) -> None:
        self.reads = TransactionReads(self.conn)

    @property
    def policy(self) -> Policy:
        return self.loaded.policy

    async def record(self, steps: Sequence[Recorded], *, counted: bool = True) -> None:
        """Queue the steps' effects now; their audit events go to the ledger at the end.

        `counted=False` for steps a command causes in other subjects (an incident freezing
        requests): only the command's own outcome is its metric.
        """
        await self.enqueue([effect for s in steps for effect in s.effects])
        self.append([event for s in steps for event in s.audit])
        if counted:
            self.outcomes.extend(s.outcome.code for s in steps)

    def append(self, events: Sequence[AuditEvent]) -> None:
        """Audit events for the ledger, appended in this order just before the commit."""
        self.recorded = True
        self.events.extend(events)

    async def enqueue(self, effects: Sequence[Effect | IncidentEffect]) -> None:
        """The outbox rows for `effects`, in this transaction."""
        self.recorded = True
        self.queued += await enqueue(
            self.conn, effects, self.policy, self.ports, self.now, self.reads
        )

    async def flush(self) -> None:
        """The ledger, last of all: from its head's lock to the commit, writers wait. The
        callbacks its entries call for are queued with them; whom to call is read first."""
        targets = await callback_targets(self.reads, self.events)
        entries = await append_events(self.conn, self.events, self.now, self.loaded.digest)
        self.entries.extend(entries)
        if targets:
            self.queued += await enqueue_callbacks(self.conn, targets, entries, self.now)


@dataclass
class UnitOfWork:
    """What every service is made of: the database, the policy, the clock and the platforms."""

    engine: AsyncEngine
    policies: PolicySource
    ports: Mapping[str, ChatPort]
    clock: Callable[[], datetime]
    metrics: Metrics
    # Wakes the relay after a commit that queued messages.
    on_commit: Callable[[], None] = field(default=lambda: None)
    crash: CrashPoint = no_faults

    @contextlib.asynccontextmanager
    async def command(self, label: str, now: datetime | None = None) -> AsyncIterator[Transaction]:
        """One command's transaction; `label` names it in metrics, logs and crash points."""
        now = now or self.clock()
        loaded = self.policies.current
        async with unavailable_on_outage(label), self.engine.begin() as conn:
            tx = Transaction(conn, now, loaded, self.ports)
            yield tx
            await tx.flush()
            if tx.recorded:
                self.crash(f"before_commit:{label}")
        if tx.recorded:
            self.crash(f"after_commit_before_ack:{label}")
        for code in tx.outcomes:
            self.metrics.commands.labels(action=label, outcome=code).inc()
        for event in tx.events:
            log_event(event)
        if tx.queued:
            self.on_commit()

    @contextlib.asynccontextmanager
    async def joined(self, conn: AsyncConnection, now: datetime) -> AsyncIterator[Transaction]:
        """Record in a transaction someone else opened and commits (the relay's)."""
        tx = Transaction(conn, now, self.policies.current, self.ports)
        yield tx
        await tx.flush()
        for event in tx.events:
            log_event(event)

    def reading(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection for reads outside any command."""
        return self.engine.connect()


def log_event(event: AuditEvent) -> None:
    """One line per recorded event, naming its subject: what operators read to follow a
    request (opened, votes, refusals, the decision, reminders, escalation, expiry)."""
    actor = event.actor.person or f"{event.actor.platform}:{event.actor.platform_user_id}"
    reason = event.data.get("reason") if event.action == "denied" else None
    events_log.info(
        "%s %s: %s by %s%s",
        event.subject_type,
        event.subject_id,
        event.action,
        actor,
        f" ({reason})" if reason else "",
        extra={
            "event": event.action,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "actor": actor,
        },
    )


async def step_all(
    tx: Transaction,
    states: Sequence[ApprovalRequest],
    commands: Sequence[Command],
    *,
    counted: bool = True,
) -> list[Step]:
    """Step each request with its command, save what changed and record the steps."""
    results = [
        step(state, command, tx.policy, tx.now, tx.loaded.digest)
        for state, command in zip(states, commands, strict=True)
    ]
    changes = [
        (old, result.state)
        for old, result in zip(states, results, strict=True)
        if result.state is not None and result.state != old
    ]
    await save_requests(tx.conn, changes, tx.now)
    await tx.record(results, counted=counted)
    return results


@contextlib.asynccontextmanager
async def unavailable_on_outage(what: str) -> AsyncIterator[None]:
    """Turns a lost or refused database connection into `ServiceUnavailable`."""
    try:
        yield
    except PoolTimeout as error:
        # Every connection stayed busy past the pool's timeout: overloaded, not broken. The
        # caller answers 503 (Slack and clients retry); nothing was written.
        log.error("no database connection free while handling %s: %s", what, error)
        raise ServiceUnavailable(str(error)) from error
    except (DBAPIError, OSError) as error:
        if not is_outage(error):
            raise
        log.error("database unavailable while handling %s: %s", what, error)
        raise ServiceUnavailable(str(error)) from error
