"""The review service: complete and tick risk reviews and schedule first ones, each in one
unit of work; no adapters.

Like the approval service: lock the row, step the pure machine, save, and record the outbox
and the ledger in the same transaction, so a reminder and its audit entry exist together or
not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.services.ids import new_review_id
from bot.services.unit_of_work import UnitOfWork
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
from workflows.review_machine import review_step, reviews_text_for
from workflows.reviews import (
    ReviewCommand,
    RiskReview,
    TickReview,
    schedule_review,
)

log = logging.getLogger("signoff.reviews")


@dataclass
class ReviewService:
    uow: UnitOfWork
    # The policy digest whose chased systems were last re-armed: only a reload changes it.
    _armed_for: str | None = field(default=None, init=False)

    async def handle(self, command: ReviewCommand) -> Outcome:
        """Apply `command` to its review, once, under the review's row lock."""
        async with self.uow.command(f"review-{command.action.value}") as tx:
            state = await load_review(tx.conn, command.review_id, for_update=True)
            if state is None:
                text = f"There is no review {command.review_id}."
                return Outcome(False, Problem.UNKNOWN_REQUEST, text)
            result = review_step(state, command, tx.policy, tx.now)
            if result.state != state:
                await save_review(tx.conn, result.state, tx.policy, tx.now)
            if result.next_review is not None:
                await add_review(tx.conn, result.next_review, tx.policy, tx.now)
            await tx.record([result])
        return result.outcome

    async def tick_page(self, review_ids: Sequence[str]) -> int:
        """Tick a page of due reviews in one transaction; returns how many it claimed.

        Each review still steps through the machine on its own; only the round trips are
        shared, which is what makes a sweep of ten thousand systems take seconds.
        """
        async with self.uow.command("review-tick") as tx:
            claimed = await claim_reviews(tx.conn, review_ids)
            steps = [
                review_step(review, TickReview(review_id=review.id), tx.policy, tx.now)
                for review in claimed
            ]
            changed = [s.state for s, old in zip(steps, claimed, strict=True) if s.state != old]
            await save_reviews(tx.conn, changed, tx.policy, tx.now)
            await tx.record(steps)
        return len(claimed)

    async def schedule_missing(self, now: datetime, only: Collection[str] | None = None) -> int:
        """Give every system of the policy (or `only` these) without an open review its first."""
        async with self.uow.command("review-scheduling", now) as tx:
            have = await systems_with_open_reviews(tx.conn)
            wanted = sorted(
                tx.policy.systems if only is None else set(only) & set(tx.policy.systems)
            )
            missing = [s for s in wanted if s not in have]
            planned = [
                schedule_review(new_review_id(), system, tx.policy, now, now) for system in missing
            ]
            inserted = await insert_new_reviews(
                tx.conn, [review for review, _ in planned], tx.policy, now
            )
            tx.append([event for review, event in planned if review.id in inserted])
            if tx.loaded.digest != self._armed_for:
                # A reload may have given a system its risk-review RACI since its review began.
                await rearm_reviews(tx.conn, tx.policy, now)
        self._armed_for = tx.loaded.digest
        if inserted:
            log.info("scheduled the first risk review of %d systems", len(inserted))
        return len(inserted)

    async def open_review(self, system: str) -> RiskReview | None:
        async with self.uow.reading() as conn:
            return await open_review_of(conn, system)

    async def review(self, review_id: str) -> RiskReview | None:
        async with self.uow.reading() as conn:
            return await load_review(conn, review_id)

    async def list_text(self, person: str | None) -> str:
        """`/signoff reviews`, the asker's own reviews first."""
        async with self.uow.reading() as conn:
            reviews = await open_reviews(conn)
        return reviews_text_for(reviews, self.uow.policies.current.policy, self.uow.clock(), person)
