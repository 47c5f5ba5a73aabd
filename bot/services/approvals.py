"""The approval service: open, answer, cancel and tick requests, each in one unit of work.

Imports no platform adapter. The decision, its ledger entries and its outgoing messages commit
together or not at all; the relay is woken only after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.messages import CardMessage, Message
from bot.services.unit_of_work import Transaction, UnitOfWork, step_all
from bot.storage.incidents import lock_system, open_incident_of
from bot.storage.requests import (
    claim_delivery,
    claim_requests,
    load_request,
    opened_since,
    pending_requests,
    save_request,
)
from workflows.cards import CardView, audience_of, card_view
from workflows.commands import Answer, Command, OpenRequest, Tick
from workflows.machine import refuse_foreign_card, step
from workflows.machine_types import Outcome
from workflows.model import Actor, ApprovalRequest
from workflows.times import readable_time
from workflows.undeliverable import unreachable
from workflows.waiting import waiting_on


@dataclass
class ApprovalService:
    uow: UnitOfWork
    # How many requests one person may open in an hour (SIGNOFF_REQUESTS_PER_HOUR).
    requests_per_hour: int = 30

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
        async with self.uow.command(command.action.value) as tx:
            return await self.apply_in(tx, command, delivery)

    async def apply_in(
        self, tx: Transaction, command: Command, delivery: tuple[str, str] | None = None
    ) -> tuple[Outcome, ApprovalRequest | None]:
        """`command` in a transaction the caller opened with `uow.command` and commits, so
        what the caller writes beside it commits or rolls back with it (an API client's
        Idempotency-Key with the request it opened). Its ledger entries are `tx.entries`
        once the transaction is over."""
        conn, now, loaded = tx.conn, tx.now, tx.loaded
        if delivery is not None and not await claim_delivery(conn, *delivery, now):
            self.uow.metrics.duplicates.inc()
            return Outcome(True, "duplicate", "Already received; nothing more to do."), None
        state = None
        if not isinstance(command, OpenRequest):
            state = await load_request(conn, command.request_id, for_update=True)
        else:
            await lock_system(conn, command.system)
            if limited := await self._over_limit(conn, command, now):
                return limited, None
            if incident := await open_incident_of(conn, command.system):
                command = command.model_copy(update={"frozen_by": incident.id})
        if await _from_foreign_card(tx, state, command):
            assert state is not None
            result = refuse_foreign_card(state, command, loaded.policy, now, loaded.digest)
        else:
            result = step(state, command, loaded.policy, now, loaded.digest)
        if result.state is not None and result.state != state:
            await save_request(conn, state, result.state, now)
        await tx.record([result])
        return result.outcome, result.state or state

    async def _over_limit(
        self, conn: AsyncConnection, command: OpenRequest, now: datetime
    ) -> Outcome | None:
        """The answer to a person who opened as many requests this past hour as one may."""
        person = command.actor.person
        if person is None:
            return None
        hour = timedelta(hours=1)
        opened, first = await opened_since(conn, person, now - hour)
        if opened < self.requests_per_hour or first is None:
            return None
        again = readable_time(first + hour, self.uow.policies.current.policy.timezone)
        return Outcome(
            False,
            "rate-limited",
            f"You opened {opened} requests in the past hour, as many as one person may, so "
            f"nothing was opened. You can ask again at {again}.",
        )

    async def tick_page(self, request_ids: Sequence[str]) -> int:
        """Tick a page of due requests in one transaction; returns how many it claimed.

        Each request steps through the machine on its own, under its row lock, so a click
        waiting on the same row sees the reminder or the expiry once this page commits.
        """
        async with self.uow.command("tick") as tx:
            claimed = await claim_requests(tx.conn, request_ids)
            await step_all(tx, claimed, [Tick(request_id=state.id) for state in claimed])
        return len(claimed)

    async def undeliverable(
        self,
        conn: AsyncConnection,
        row: Row[Any],
        message: Message | None,
        error: str,
        now: datetime,
    ) -> None:
        """A dead-lettered card to a person: the ledger records it and the requester is told."""
        if not isinstance(message, CardMessage) or message.to.kind != "person":
            return
        state = await load_request(conn, row.request_id) if row.request_id else None
        if state is None:
            return
        async with self.uow.joined(conn, now) as tx:
            why = error.removeprefix("permanent: ")
            event, notice = unreachable(state, tx.policy, message.to.key, row.platform, why)
            tx.append([event])
            await tx.enqueue([notice])

    async def card_for(self, request_id: str, person: str | None) -> CardView | None:
        """The card `person` should see of the request now: theirs to answer, or read-only."""
        async with self.uow.reading() as conn:
            state = await load_request(conn, request_id)
        return None if state is None else self._card_seen_by(state, person)

    def _card_seen_by(self, state: ApprovalRequest, person: str | None) -> CardView:
        policy = self.uow.policies.current.policy
        return card_view(state, policy, audience_of(state, policy, person), person)

    async def waiting_on(self, actor: Actor) -> str:
        """`status`: the pending requests that need this person's answer."""
        async with self.uow.reading() as conn:
            pending = await pending_requests(conn)
        return waiting_on(actor.person, pending, self.uow.policies.current.policy)


async def _from_foreign_card(
    tx: Transaction, state: ApprovalRequest | None, command: Command
) -> bool:
    """True when a click names a message location that is not one of the request's cards."""
    if state is None or not isinstance(command, Answer) or command.location is None:
        return False
    posted = (await tx.reads.posted_cards([state.id]))[state.id]
    return not any(json.loads(card.ref) == command.location for card in posted)
