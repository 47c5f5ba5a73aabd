"""The approval service: one transaction per command (lock, step, save, ledger, outbox).

Imports no adapters. The decision, its ledger entries and its outgoing messages commit
together or not at all; the relay is woken only after the commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.port import ServiceUnavailable
from bot.delivery.enqueue import enqueue_effects
from bot.observability.faults import CrashPoint, no_faults
from bot.observability.metrics import Metrics
from bot.storage.database import is_outage
from bot.storage.incidents import lock_system, open_incident_of
from bot.storage.ledger import append_events
from bot.storage.requests import (
    card_locations,
    claim_delivery,
    claim_requests,
    load_request,
    pending_requests,
    save_request,
    save_requests,
)
from workflows.cards import CardView, audience_of, card_view
from workflows.commands import Answer, Command, OpenRequest, Tick
from workflows.effects import Effect
from workflows.ledger import AuditEvent
from workflows.machine import refuse_foreign_card, step
from workflows.machine_types import Outcome, Step
from workflows.model import Actor, ApprovalRequest
from workflows.policy import Policy
from workflows.undeliverable import unreachable
from workflows.waiting import waiting_on

log = logging.getLogger("signoff.service")

_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class LoadedPolicyLike(Protocol):
    @property
    def policy(self) -> Policy: ...

    @property
    def digest(self) -> str: ...


class PolicySource(Protocol):
    @property
    def current(self) -> LoadedPolicyLike: ...


def new_request_id() -> str:
    """`R` and 12 Crockford base-32 characters: short enough to type, hard to guess."""
    return "R" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


@dataclass
class ApprovalService:
    engine: AsyncEngine
    policies: PolicySource
    platforms: Sequence[str]
    clock: Callable[[], datetime]
    metrics: Metrics
    on_commit: Callable[[], None] = field(default=lambda: None)
    crash: CrashPoint = no_faults

    async def handle(self, command: Command, delivery: tuple[str, str] | None = None) -> Outcome:
        """Apply `command` once; `delivery` (platform, id) makes a redelivery a no-op."""
        outcome, _ = await self._apply(command, delivery)
        return outcome

    async def answer_on_card(
        self, command: Answer, delivery: tuple[str, str] | None, viewer: str | None
    ) -> tuple[Outcome, CardView | None]:
        """Apply a button's answer and the card `viewer` should see after it, rendered from
        the state the decision left, without reading the request again."""
        outcome, state = await self._apply(command, delivery)
        if state is None:  # a redelivery, or no such request: nothing was read
            return outcome, await self.card_for(command.request_id, viewer)
        return outcome, self._card_seen_by(state, viewer)

    async def _apply(
        self, command: Command, delivery: tuple[str, str] | None
    ) -> tuple[Outcome, ApprovalRequest | None]:
        """The outcome and the request's state after the command (None when none was read)."""
        now = self.clock()
        loaded = self.policies.current
        async with unavailable_on_outage(command.action.value), self.engine.begin() as conn:
            if delivery is not None and not await claim_delivery(conn, *delivery, now):
                self.metrics.duplicates.inc()
                return Outcome(True, "duplicate", "Already received; nothing more to do."), None
            state = None
            if not isinstance(command, OpenRequest):
                state = await load_request(conn, command.request_id, for_update=True)
            else:
                await lock_system(conn, command.system)
                if incident := await open_incident_of(conn, command.system):
                    command = command.model_copy(update={"frozen_by": incident.id})
            if await _from_foreign_card(conn, state, command):
                assert state is not None
                result = refuse_foreign_card(state, command, loaded.policy, now, loaded.digest)
            else:
                result = step(state, command, loaded.policy, now, loaded.digest)
            if result.state is not None and result.state != state:
                await save_request(conn, state, result.state, now)
            await enqueue_effects(conn, result.effects, loaded.policy, self.platforms, now)
            # Last: from here to the commit every other writer waits for the ledger's head.
            await append_events(conn, result.audit, now, loaded.digest)
            self.crash(f"before_commit:{command.action.value}")
        self.crash(f"after_commit_before_ack:{command.action.value}")
        self.metrics.commands.labels(action=command.action.value, outcome=result.outcome.code).inc()
        if result.effects:
            self.on_commit()
        return result.outcome, result.state or state

    async def tick_page(self, request_ids: Sequence[str]) -> int:
        """Tick a page of due requests in one transaction; returns how many it claimed.

        Each request steps through the machine on its own, under its row lock, so a click
        waiting on the same row sees the reminder or the expiry once this page commits.
        """
        now = self.clock()
        loaded = self.policies.current
        async with unavailable_on_outage("tick"), self.engine.begin() as conn:
            claimed = await claim_requests(conn, request_ids)
            commands = [Tick(request_id=state.id) for state in claimed]
            results, queued = await step_all(conn, claimed, commands, loaded, self.platforms, now)
        for result in results:
            self.metrics.commands.labels(action="tick", outcome=result.outcome.code).inc()
        if queued:
            self.on_commit()
        return len(claimed)

    async def undeliverable(
        self, conn: AsyncConnection, row: Any, error: str, now: datetime
    ) -> None:
        """A dead-lettered card to a person: the ledger records it and the requester is told."""
        message = json.loads(row.message)
        to = message.get("to") or {}
        if message.get("kind") != "card" or to.get("kind") != "person" or not row.request_id:
            return
        state = await load_request(conn, row.request_id)
        if state is None:
            return
        loaded = self.policies.current
        why = error.removeprefix("permanent: ")
        event, notice = unreachable(state, loaded.policy, to["key"], row.platform, why)
        await append_events(conn, [event], now, loaded.digest)
        await enqueue_effects(conn, [notice], loaded.policy, self.platforms, now)

    async def card_for(self, request_id: str, person: str | None) -> CardView | None:
        """The card `person` should see of the request now: theirs to answer, or read-only."""
        async with self.engine.connect() as conn:
            state = await load_request(conn, request_id)
        return None if state is None else self._card_seen_by(state, person)

    def _card_seen_by(self, state: ApprovalRequest, person: str | None) -> CardView:
        policy = self.policies.current.policy
        return card_view(state, policy, audience_of(state, policy, person), person)

    async def waiting_on(self, actor: Actor) -> str:
        """`status`: the pending requests that need this person's answer."""
        async with self.engine.connect() as conn:
            pending = await pending_requests(conn)
        return waiting_on(actor.person, pending, self.policies.current.policy)


class Recorded(Protocol):
    """What a step of either machine leaves to record: audit events and effects."""

    @property
    def audit(self) -> tuple[AuditEvent, ...]: ...

    @property
    def effects(self) -> tuple[Effect, ...]: ...


async def step_all(
    conn: AsyncConnection,
    states: Sequence[ApprovalRequest],
    commands: Sequence[Command],
    loaded: LoadedPolicyLike,
    platforms: Sequence[str],
    now: datetime,
) -> tuple[list[Step], int]:
    """Step each request with its command, save what changed, record the steps; in `conn`."""
    results = [
        step(state, command, loaded.policy, now, loaded.digest)
        for state, command in zip(states, commands, strict=True)
    ]
    changes = [
        (old, result.state)
        for old, result in zip(states, results, strict=True)
        if result.state is not None and result.state != old
    ]
    await save_requests(conn, changes, now)
    return results, await record_steps(conn, results, loaded, platforms, now)


async def record_steps(
    conn: AsyncConnection,
    results: Sequence[Recorded],
    loaded: LoadedPolicyLike,
    platforms: Sequence[str],
    now: datetime,
) -> int:
    """Queue the steps' effects and append their audit events in the caller's transaction.

    The ledger comes last: from its head's lock to the commit, every other writer waits.
    """
    effects = [effect for result in results for effect in result.effects]
    queued = await enqueue_effects(conn, effects, loaded.policy, platforms, now)
    events = [event for result in results for event in result.audit]
    await append_events(conn, events, now, loaded.digest)
    return queued


@contextlib.asynccontextmanager
async def unavailable_on_outage(what: str) -> AsyncIterator[None]:
    """Turns a lost or refused database connection into `ServiceUnavailable`."""
    try:
        yield
    except (DBAPIError, OSError) as error:
        if not is_outage(error):
            raise
        log.error("database unavailable while handling %s: %s", what, error)
        raise ServiceUnavailable(str(error)) from error


async def _from_foreign_card(
    conn: AsyncConnection, state: ApprovalRequest | None, command: Command
) -> bool:
    """True when a click names a message location that is not one of the request's cards."""
    if state is None or not isinstance(command, Answer) or command.location is None:
        return False
    posted = await card_locations(conn, state.id)
    return not any(ref == command.location for *_, ref in posted)
