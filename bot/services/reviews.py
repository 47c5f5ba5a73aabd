"""Applies review commands in one transaction each, and schedules first reviews; no adapters.

Like `ApprovalService`: lock the row, step the pure machine, save, append the ledger and the
outbox in the same transaction, so a reminder and its audit entry exist together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.observability.metrics import Metrics
from bot.services.approvals import PolicySource, new_request_id, record_steps, unavailable_on_outage
from bot.storage.ledger import append_events
from bot.storage.reviews import (
    add_review,
    claim_reviews,
    insert_new_reviews,
    load_review,
    open_review_of,
    open_reviews,
    rearm_reviews,
    save_review,
    save_reviews,
    systems_with_open_reviews,
)
from workflows.machine_types import Outcome, Problem
from workflows.review_machine import review_step
from workflows.reviews import (
    ReviewCommand,
    RiskReview,
    TickReview,
    reviews_text,
    schedule_review,
)

log = logging.getLogger("signoff.reviews")


def new_review_id() -> str:
    """`V` and 12 random Crockford base-32 characters."""
    return "V" + new_request_id()[1:]


@dataclass
class ReviewService:
    engine: AsyncEngine
    policies: PolicySource
    platforms: Sequence[str]
    clock: Callable[[], datetime]
    metrics: Metrics
    on_commit: Callable[[], None] = field(default=lambda: None)
    # The policy digest whose chased systems were last re-armed: only a reload changes it.
    _armed_for: str | None = field(default=None, init=False)

    async def handle(self, command: ReviewCommand) -> Outcome:
        """Apply `command` to its review, once, under the review's row lock."""
        now = self.clock()
        loaded = self.policies.current
        async with unavailable_on_outage(f"review {command.action}"), self.engine.begin() as conn:
            state = await load_review(conn, command.review_id, for_update=True)
            if state is None:
                text = f"There is no review {command.review_id}."
                return Outcome(False, Problem.UNKNOWN_REQUEST, text)
            result = review_step(state, command, loaded.policy, now)
            if result.state != state:
                await save_review(conn, result.state, loaded.policy, now)
            if result.next_review is not None:
                await add_review(conn, result.next_review, loaded.policy, now)
            await record_steps(conn, [result], loaded, self.platforms, now)
        label = f"review-{command.action.value}"
        self.metrics.commands.labels(action=label, outcome=result.outcome.code).inc()
        if result.effects:
            self.on_commit()
        return result.outcome

    async def tick_page(self, review_ids: Sequence[str]) -> int:
        """Tick a page of due reviews in one transaction; returns how many it claimed.

        Each review still steps through the machine on its own; only the round trips are
        shared, which is what makes a sweep of ten thousand systems take seconds.
        """
        now = self.clock()
        loaded = self.policies.current
        async with unavailable_on_outage("review ticks"), self.engine.begin() as conn:
            claimed = await claim_reviews(conn, review_ids)
            steps = [
                review_step(review, TickReview(review_id=review.id), loaded.policy, now)
                for review in claimed
            ]
            changed = [s.state for s, old in zip(steps, claimed, strict=True) if s.state != old]
            await save_reviews(conn, changed, loaded.policy, now)
            queued = await record_steps(conn, steps, loaded, self.platforms, now)
        for result in steps:
            self.metrics.commands.labels(action="review-tick", outcome=result.outcome.code).inc()
        if queued:
            self.on_commit()
        return len(claimed)

    async def schedule_missing(self, now: datetime) -> int:
        """Give every system of the policy without an open review its first one."""
        loaded = self.policies.current
        async with unavailable_on_outage("review scheduling"), self.engine.begin() as conn:
            have = await systems_with_open_reviews(conn)
            missing = [s for s in sorted(loaded.policy.systems) if s not in have]
            planned = [
                schedule_review(new_review_id(), system, loaded.policy, now, now)
                for system in missing
            ]
            inserted = await insert_new_reviews(
                conn, [review for review, _ in planned], loaded.policy, now
            )
            events = [event for review, event in planned if review.id in inserted]
            await append_events(conn, events, now, loaded.digest)
            if loaded.digest != self._armed_for:
                # A reload may have given a system its risk-review RACI since its review began.
                await rearm_reviews(conn, loaded.policy, now)
        self._armed_for = loaded.digest
        if inserted:
            log.info("scheduled the first risk review of %d systems", len(inserted))
        return len(inserted)

    async def open_review(self, system: str) -> RiskReview | None:
        async with self.engine.connect() as conn:
            return await open_review_of(conn, system)

    async def list_text(self) -> str:
        """`/signoff reviews`."""
        async with self.engine.connect() as conn:
            reviews = await open_reviews(conn)
        return reviews_text(reviews, self.policies.current.policy, self.clock())
