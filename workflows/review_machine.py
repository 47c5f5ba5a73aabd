"""The risk-review lifecycle: one transition table and `review_step()`; pure.

`due -> completed`. A tick sends the latest reminder that is due (earlier ones missed while
the scheduler was down are skipped and recorded, never sent in a burst) or escalates once the
review is overdue; completion by the Accountable schedules the next cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workflows.effects import Effect, Notify, Target
from workflows.inventory import (
    accountable_people,
    backup_people,
    informed_of,
    responsible_people,
)
from workflows.ledger import AuditEvent, format_time
from workflows.machine_types import Denial, Outcome, Problem, Refusal
from workflows.model import SYSTEM_ACTOR, Actor
from workflows.policy import Policy
from workflows.review_schedule import escalation_moment, local_date, reminder_moments
from workflows.reviews import (
    CompleteReview,
    ReviewAction,
    ReviewCommand,
    ReviewStatus,
    RiskReview,
    chased,
    reviews_text,
    schedule_review,
)
from workflows.times import readable_time
from workflows.wording import display_name, names, sentence

ACTIVITY = "risk-review"


@dataclass(frozen=True)
class ReviewContext:
    state: RiskReview
    command: ReviewCommand
    policy: Policy
    now: datetime

    @property
    def actor(self) -> Actor:
        return self.command.actor if isinstance(self.command, CompleteReview) else SYSTEM_ACTOR


@dataclass(frozen=True)
class ReviewStep:
    """The new review, effects, audit events, what the actor is told, and the next cycle."""

    state: RiskReview
    effects: tuple[Effect, ...]
    audit: tuple[AuditEvent, ...]
    outcome: Outcome
    next_review: RiskReview | None = None


ReviewGuard = Callable[[ReviewContext], Refusal | None]
ReviewHandler = Callable[[ReviewContext], ReviewStep]


def may_complete(review: RiskReview, policy: Policy) -> tuple[str, ...]:
    """Who may complete it now: the Accountable, and the backup once escalated."""
    people = accountable_people(policy, review.system, ACTIVITY)
    if review.escalated:
        people += tuple(
            p for p in backup_people(policy, review.system, ACTIVITY) if p not in people
        )
    return people


def reviews_text_for(
    reviews: list[RiskReview], policy: Policy, now: datetime, person: str | None
) -> str:
    """`/signoff reviews` as `person` reads it: the reviews they may complete first."""
    return reviews_text(
        reviews, policy, now, yours=lambda review: person in may_complete(review, policy)
    )


def describe_review(review: RiskReview, policy: Policy) -> str:
    system = policy.systems.get(review.system)
    name = f"{system.name} ({review.system})" if system else review.system
    return f"the risk review of {name}"


def _event(ctx: ReviewContext, action: str, **data: object) -> AuditEvent:
    return AuditEvent(
        action=action, subject_type="review", subject_id=ctx.state.id, actor=ctx.actor, data=data
    )


def _tell(review: RiskReview, text: str, people: tuple[str, ...]) -> tuple[Notify, ...]:
    return tuple(Notify(request_id=review.id, text=text, to=Target(person=p)) for p in people)


def _tell_informed(review: RiskReview, policy: Policy, text: str) -> tuple[Notify, ...]:
    informed = informed_of(policy, review.system, ACTIVITY)
    channels = tuple(
        Notify(request_id=review.id, text=text, to=Target(channel=c)) for c in informed.channels
    )
    return channels + _tell(review, text, informed.people)


def _owners(review: RiskReview, policy: Policy) -> tuple[str, ...]:
    """Responsible and Accountable, resolved now, so a changed role is honoured (REM-05)."""
    people = responsible_people(policy, review.system, ACTIVITY)
    return people + tuple(
        p for p in accountable_people(policy, review.system, ACTIVITY) if p not in people
    )


# Guards -----------------------------------------------------------------------------------


def _known_person(ctx: ReviewContext) -> Refusal | None:
    if ctx.actor.person is None:
        return Refusal(Denial.UNKNOWN_PERSON, "Signoff does not know you, so you cannot do that.")
    return None


def _is_accountable(ctx: ReviewContext) -> Refusal | None:
    allowed = may_complete(ctx.state, ctx.policy)
    if ctx.actor.person not in allowed:
        return Refusal(
            Denial.NOT_ACCOUNTABLE,
            f"Only {names(ctx.policy, allowed)} can complete "
            f"{describe_review(ctx.state, ctx.policy)}.",
        )
    return None


def _current_revision(ctx: ReviewContext) -> Refusal | None:
    assert isinstance(ctx.command, CompleteReview)
    if ctx.command.revision is not None and ctx.command.revision != ctx.state.revision:
        return Refusal(Denial.STALE, "This review form is out of date; open it again.")
    return None


def _notes_for_gaps(ctx: ReviewContext) -> Refusal | None:
    assert isinstance(ctx.command, CompleteReview)
    unchecked = [c for c in ctx.policy.reviews.checklist if c not in ctx.command.checked]
    if unchecked and not (ctx.command.notes or "").strip():
        return Refusal(
            Problem.COMMENT_REQUIRED,
            f"Say in the notes why these were not checked: {', '.join(unchecked)}.",
        )
    return None


def _refuse_completed(ctx: ReviewContext) -> Refusal | None:
    review = ctx.state
    return Refusal(
        Denial.DECIDED,
        f"{sentence(describe_review(review, ctx.policy))} was already completed by "
        f"{display_name(ctx.policy, review.completed_by)} at "
        f"{readable_time(review.completed_at or ctx.now, ctx.policy.timezone)}.",
    )


# Handlers ---------------------------------------------------------------------------------


def _nothing(ctx: ReviewContext) -> ReviewStep:
    return ReviewStep(ctx.state, (), (), Outcome(True, "nothing-due", "Nothing is due."))


def _remind(ctx: ReviewContext, days: int, skipped: list[int]) -> ReviewStep:
    review, policy = ctx.state, ctx.policy
    to = _owners(review, policy)
    when = "today" if days == 0 else f"in {days} day{'s' if days > 1 else ''}"
    due_day = local_date(policy, review.due_at).isoformat()
    text = (
        f"Reminder: {describe_review(review, policy)} is due {when} ({due_day}). "
        f"Type /signoff review {review.system} to complete it."
    )
    new = review.model_copy(update={"reminded_days": (*review.reminded_days, days, *skipped)})
    event = _event(ctx, "review-reminded", days_before=days, to=list(to), skipped=skipped)
    return ReviewStep(new, _tell(review, text, to), (event,), Outcome(True, "reminded", text))


def _escalate(ctx: ReviewContext) -> ReviewStep:
    review, policy = ctx.state, ctx.policy
    backups = backup_people(policy, review.system, ACTIVITY)
    owners = _owners(review, policy)
    due_day = local_date(policy, review.due_at).isoformat()
    text = (
        f"{sentence(describe_review(review, policy))} is overdue (due {due_day}); "
        f"escalated to {names(policy, backups) if backups else 'nobody: the role has no backup'}."
    )
    every_reminder = tuple(d for d in policy.reviews.remind_days_before)
    new = review.model_copy(update={"escalated": True, "reminded_days": every_reminder})
    to = owners + tuple(p for p in backups if p not in owners)
    effects = _tell(review, text, to) + _tell_informed(review, policy, text)
    event = _event(
        ctx, "review-escalated", to=list(backups), overdue_since=format_time(review.due_at)
    )
    return ReviewStep(new, effects, (event,), Outcome(True, "escalated", text))


def _tick(ctx: ReviewContext) -> ReviewStep:
    review, policy, now = ctx.state, ctx.policy, ctx.now
    if not chased(policy, review.system):
        return _nothing(ctx)
    if not review.escalated and now >= escalation_moment(policy, review.due_at):
        return _escalate(ctx)
    due = [
        days
        for days, moment in reminder_moments(policy, review.due_at)
        if moment <= now and days not in review.reminded_days
    ]
    if not due:
        return _nothing(ctx)
    # Only the latest: reminders missed while Signoff was down are skipped, never a burst.
    return _remind(ctx, due[-1], due[:-1])


def _complete(ctx: ReviewContext) -> ReviewStep:
    command, review, policy, now = ctx.command, ctx.state, ctx.policy, ctx.now
    assert isinstance(command, CompleteReview)
    checked = tuple(c for c in policy.reviews.checklist if c in command.checked)
    notes = (command.notes or "").strip() or None
    done = review.model_copy(
        update={
            "status": ReviewStatus.COMPLETED,
            "revision": review.revision + 1,
            "completed_at": now,
            "completed_by": ctx.actor.person,
            "checked": checked,
            "notes": notes,
        }
    )
    following, scheduled = schedule_review(command.next_review_id, review.system, policy, now, now)
    next_day = local_date(policy, following.due_at).isoformat()
    text = (
        f"{sentence(describe_review(review, policy))} was completed by "
        f"{display_name(policy, ctx.actor.person)}; the next one is due {next_day}."
    )
    unchecked = [c for c in policy.reviews.checklist if c not in checked]
    event = _event(
        ctx, "review-completed", checked=list(checked), unchecked=unchecked, notes=notes,
        next_review=following.id, next_due_at=format_time(following.due_at),
    )  # fmt: skip
    effects = _tell(review, text, _owners(review, policy)) + _tell_informed(review, policy, text)
    return ReviewStep(
        done, effects, (event, scheduled), Outcome(True, "completed", text), following
    )


def _unreachable(ctx: ReviewContext) -> ReviewStep:
    raise AssertionError("a guard refuses this transition before its handler runs")


@dataclass(frozen=True)
class ReviewTransition:
    guards: tuple[ReviewGuard, ...]
    handler: ReviewHandler


REVIEW_TRANSITIONS: dict[tuple[ReviewStatus, ReviewAction], ReviewTransition] = {
    (ReviewStatus.DUE, ReviewAction.TICK): ReviewTransition((), _tick),
    (ReviewStatus.DUE, ReviewAction.COMPLETE): ReviewTransition(
        (_known_person, _is_accountable, _current_revision, _notes_for_gaps), _complete
    ),
    (ReviewStatus.COMPLETED, ReviewAction.TICK): ReviewTransition((), _nothing),
    (ReviewStatus.COMPLETED, ReviewAction.COMPLETE): ReviewTransition(
        (_refuse_completed,), _unreachable
    ),
}


def review_step(
    state: RiskReview, command: ReviewCommand, policy: Policy, now: datetime
) -> ReviewStep:
    """Apply one command to one review; the only way a review's status changes."""
    ctx = ReviewContext(state, command, policy, now)
    transition = REVIEW_TRANSITIONS[(state.status, command.action)]
    for guard in transition.guards:
        refusal = guard(ctx)
        if refusal is not None:
            outcome = Outcome(False, refusal.code, refusal.message)
            if not isinstance(refusal.code, Denial):
                return ReviewStep(state, (), (), outcome)
            attempted = command.action.value
            denied = _event(ctx, "denied", attempted=attempted, reason=refusal.code.value)
            return ReviewStep(state, (), (denied,), outcome)
    return transition.handler(ctx)
