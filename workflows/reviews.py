"""Risk reviews: the review record, its commands and what is due next; pure.

A system always has one open review (status `due`); completing it schedules the next. The
scheduler's `TickReview` sends whatever reminder or escalation is due; `CompleteReview` comes
from the Accountable through an adapter. Imports the policy, schedule and model types only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.ledger import AuditEvent, format_time
from workflows.model import SYSTEM_ACTOR, Actor
from workflows.policy import Policy
from workflows.review_schedule import due_after, escalation_moment, local_date, reminder_moments
from workflows.text import Comment


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReviewStatus(StrEnum):
    DUE = "due"
    COMPLETED = "completed"


class RiskReview(_Frozen):
    """One cycle of a system's risk review; `reminded_days` lists reminders sent or skipped."""

    id: str
    system: str
    status: ReviewStatus = ReviewStatus.DUE
    revision: int = 1
    scheduled_at: datetime
    due_at: datetime
    reminded_days: tuple[int, ...] = ()
    escalated: bool = False
    completed_at: datetime | None = None
    completed_by: str | None = None
    checked: tuple[str, ...] = ()
    notes: str | None = None


class ReviewAction(StrEnum):
    TICK = "tick"
    COMPLETE = "complete"


class TickReview(_Frozen):
    """The scheduler's nudge: remind or escalate whatever is due at `now`."""

    review_id: str

    @property
    def action(self) -> ReviewAction:
        return ReviewAction.TICK


class CompleteReview(_Frozen):
    """The Accountable finishes a review; the shell picks the id of the next cycle's review."""

    review_id: str
    actor: Actor
    checked: tuple[str, ...] = ()
    notes: Comment | None = None
    revision: int | None = None
    next_review_id: str

    @property
    def action(self) -> ReviewAction:
        return ReviewAction.COMPLETE


ReviewCommand = TickReview | CompleteReview


def schedule_review(
    review_id: str, system: str, policy: Policy, start: datetime, now: datetime
) -> tuple[RiskReview, AuditEvent]:
    """A new review one cycle after `start` (the policy's load, or the last completion)."""
    review = RiskReview(
        id=review_id, system=system, scheduled_at=now, due_at=due_after(policy, system, start)
    )
    event = AuditEvent(
        action="review-scheduled",
        subject_type="review",
        subject_id=review_id,
        actor=SYSTEM_ACTOR,
        data={"system": system, "due_at": format_time(review.due_at)},
    )
    return review, event


def review_after_incident(
    current: RiskReview | None,
    new_id: str,
    system: str,
    due_at: datetime,
    incident_id: str,
    now: datetime,
) -> tuple[RiskReview | None, AuditEvent | None]:
    """A review due by `due_at`: a new one, the open one brought forward, or none needed."""
    if current is not None and current.due_at <= due_at:
        return None, None
    if current is None:
        review = RiskReview(id=new_id, system=system, scheduled_at=now, due_at=due_at)
        action = "review-scheduled"
    else:
        review = current.model_copy(
            update={"due_at": due_at, "reminded_days": (), "revision": current.revision + 1}
        )
        action = "review-brought-forward"
    event = AuditEvent(
        action=action,
        subject_type="review",
        subject_id=review.id,
        actor=SYSTEM_ACTOR,
        data={"system": system, "due_at": format_time(due_at), "incident": incident_id},
    )
    return review, event


def chased(policy: Policy, system: str) -> bool:
    """Whether the policy names who answers for this system's risk review."""
    found = policy.systems.get(system)
    return found is not None and "risk-review" in found.raci


def next_moment(review: RiskReview, policy: Policy) -> datetime | None:
    """When the scheduler next has something to do for this review; None when nothing will."""
    if review.status is not ReviewStatus.DUE or not chased(policy, review.system):
        return None
    moments = [
        moment
        for days, moment in reminder_moments(policy, review.due_at)
        if days not in review.reminded_days
    ]
    if not review.escalated:
        moments.append(escalation_moment(policy, review.due_at))
    return min(moments, default=None)


def reviews_text(
    reviews: list[RiskReview],
    policy: Policy,
    now: datetime,
    yours: Callable[[RiskReview], bool] = lambda review: False,
    horizon_days: int = 30,
) -> str:
    """`/signoff reviews`: what is overdue, then what is due within `horizon_days`; the
    reviews `yours` picks (the asker's to complete) come first under their own heading."""
    theirs = [r for r in reviews if yours(r)]
    if not theirs:
        return _listed(reviews, policy, now, horizon_days)
    others = _listed([r for r in reviews if not yours(r)], policy, now, horizon_days)
    mine = _listed(theirs, policy, now, horizon_days).replace("Risk reviews:", "Yours to complete:")
    if not others.startswith("Risk reviews:"):
        return mine
    return mine + "\n" + others.replace("Risk reviews:", "Other risk reviews:")


def _listed(reviews: list[RiskReview], policy: Policy, now: datetime, horizon_days: int) -> str:
    overdue, coming = [], []
    for review in sorted(reviews, key=lambda r: r.due_at):
        if review.status is not ReviewStatus.DUE or review.system not in policy.systems:
            continue
        day = local_date(policy, review.due_at).isoformat()
        if review.due_at <= now:
            escalated = ", escalated" if review.escalated else ""
            overdue.append(f"{review.system}: overdue since {day}{escalated}")
        elif (review.due_at - now).days < horizon_days:
            days = (local_date(policy, review.due_at) - local_date(policy, now)).days
            coming.append(f"{review.system}: due {day} (in {days} day{'s' if days != 1 else ''})")
    if not overdue and not coming:
        return f"No risk review is due in the next {horizon_days} days."
    return "Risk reviews:\n" + "\n".join(overdue + coming)
