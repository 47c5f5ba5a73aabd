"""Guards of the approval machine: who may do what, now; pure.

Each guard looks at a `Context` and returns None to let an action through, or the `Refusal`
that says why not. Eligibility is always judged against the policy in force at `now`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workflows.commands import Command
from workflows.inventory import accountable_people, backup_people, consulted_people, raci_for
from workflows.machine_types import Denial, Problem, Refusal, Step
from workflows.model import SYSTEM_ACTOR, Actor, ApprovalRequest
from workflows.policy import Policy
from workflows.times import readable_time
from workflows.wording import activity_on, frozen_text, names, outcome_text


@dataclass(frozen=True)
class Context:
    """Everything a guard or handler may look at."""

    state: ApprovalRequest
    command: Command
    policy: Policy
    now: datetime
    digest: str

    @property
    def actor(self) -> Actor:
        actor = getattr(self.command, "actor", SYSTEM_ACTOR)
        assert isinstance(actor, Actor)
        return actor


Guard = Callable[[Context], Refusal | None]
Handler = Callable[[Context], Step]


def eligible_approvers(state: ApprovalRequest, policy: Policy) -> tuple[str, ...]:
    """Who may decide now: the current Accountable members, and the backup once escalated."""
    people = accountable_people(policy, state.system, state.activity)
    if state.escalated:
        backups = backup_people(policy, state.system, state.activity)
        people += tuple(p for p in backups if p not in people)
    return people


def waiting_consultations(state: ApprovalRequest) -> tuple[str, ...]:
    answered = set(state.answered())
    return tuple(p for p in state.consulted if p not in answered)


def known_person(ctx: Context) -> Refusal | None:
    if ctx.actor.person is None:
        return Refusal(
            Denial.UNKNOWN_PERSON,
            "Signoff's policy does not know you, so your answer cannot count. "
            "Ask your AI governance lead to add you to the policy file.",
        )
    return None


def not_requester(ctx: Context) -> Refusal | None:
    if ctx.actor.person is not None and ctx.actor.person in ctx.state.requesters():
        return Refusal(
            Denial.SELF_APPROVAL,
            "You asked for this, so you cannot decide it yourself; "
            "another Accountable person has to.",
        )
    return None


def is_approver(ctx: Context) -> Refusal | None:
    if ctx.actor.person in eligible_approvers(ctx.state, ctx.policy):
        return None
    state = ctx.state
    raci = raci_for(ctx.policy, state.system, state.activity)
    members = names(ctx.policy, eligible_approvers(state, ctx.policy))
    who = (
        f"the {raci.accountable} role ({members})"
        if raci
        else "nobody: the policy no longer has this activity"
    )
    return Refusal(
        Denial.NOT_ACCOUNTABLE,
        f"Only the Accountable for {activity_on(state.activity, state.system)} can decide "
        f"this request: {who}.",
    )


def is_consulted(ctx: Context) -> Refusal | None:
    state = ctx.state
    if ctx.actor.person in consulted_people(ctx.policy, state.system, state.activity):
        return None
    return Refusal(
        Denial.NOT_CONSULTED,
        f"You are not among the people Consulted on {activity_on(state.activity, state.system)}.",
    )


def is_requester(ctx: Context) -> Refusal | None:
    requester, actor = ctx.state.requester, ctx.actor
    same_person = actor.person is not None and actor.person == requester.person
    same_account = (actor.platform, actor.platform_user_id) == (
        requester.platform,
        requester.platform_user_id,
    )
    if same_person or same_account:
        return None
    return Refusal(Denial.NOT_REQUESTER, "Only the person who asked can cancel this request.")


def current_revision(ctx: Context) -> Refusal | None:
    revision = getattr(ctx.command, "revision", None)
    if revision is not None and revision != ctx.state.revision:
        return Refusal(
            Denial.STALE,
            "This request changed since that card was sent; review the new version first.",
        )
    return None


def not_frozen(ctx: Context) -> Refusal | None:
    if ctx.state.frozen_by:
        state = ctx.state
        return Refusal(
            Denial.FROZEN, frozen_text(state.activity, state.system, ctx.state.frozen_by) + "."
        )
    return None


def consultation_done(ctx: Context) -> Refusal | None:
    waiting = waiting_consultations(ctx.state)
    if ctx.state.consult_first and waiting and ctx.now < ctx.state.consult_until:
        return Refusal(
            Denial.CONSULTATION_PENDING,
            f"{ctx.state.system} requires consultation first: waiting for "
            f"{names(ctx.policy, waiting)} until "
            f"{readable_time(ctx.state.consult_until, ctx.policy.timezone)}.",
        )
    return None


def reason_given(ctx: Context) -> Refusal | None:
    if not (getattr(ctx.command, "comment", None) or "").strip():
        return Refusal(Problem.REASON_REQUIRED, "A rejection needs a reason; please say why.")
    return None


def comment_given(ctx: Context) -> Refusal | None:
    if not (getattr(ctx.command, "comment", None) or "").strip():
        return Refusal(
            Problem.COMMENT_REQUIRED, "A concern needs a comment; please say what worries you."
        )
    return None


def refuse_decided(ctx: Context) -> Refusal | None:
    already = outcome_text(ctx.state, ctx.policy)
    return Refusal(Denial.DECIDED, f"This request is already {already}.")


def refuse_existing(ctx: Context) -> Refusal | None:
    return Refusal(Problem.DUPLICATE_ID, f"Request {ctx.state.id} already exists.")
