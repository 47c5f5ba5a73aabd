"""The deployment approval lifecycle: one transition table and `step()`; pure.

`step(state, command, policy, now, digest)` returns the new state, the effects to carry out
and the audit events to record. Every (status, action) pair has a row in `TRANSITIONS`: a
tuple of guards, then a handler. Nothing here reads a clock or touches I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows import guards as g
from workflows import handlers as h
from workflows.commands import Action, Command, OpenRequest, Tick
from workflows.effects import Effect, RefreshCards
from workflows.guards import Context, Guard, Handler
from workflows.machine_types import Denial, Outcome, Problem, Refusal, Step
from workflows.model import TERMINAL, ApprovalRequest, Status
from workflows.opening import open_request
from workflows.policy import Policy


@dataclass(frozen=True)
class Transition:
    guards: tuple[Guard, ...]
    handler: Handler


_DECIDE = (g.known_person, g.not_requester, g.is_approver, g.current_revision)
_PERSON_ACTIONS = (
    Action.APPROVE,
    Action.REJECT,
    Action.NO_OBJECTION,
    Action.RAISE_CONCERN,
    Action.CANCEL,
)

TRANSITIONS: dict[tuple[Status, Action], Transition] = {
    (Status.PENDING, Action.OPEN): Transition((g.refuse_existing,), h.unreachable),
    (Status.PENDING, Action.APPROVE): Transition(
        (*_DECIDE, g.not_frozen, g.consultation_done), h.approve
    ),
    (Status.PENDING, Action.REJECT): Transition((*_DECIDE, g.reason_given), h.reject),
    (Status.PENDING, Action.NO_OBJECTION): Transition(
        (g.known_person, g.is_consulted, g.current_revision), h.consult
    ),
    (Status.PENDING, Action.RAISE_CONCERN): Transition(
        (g.known_person, g.is_consulted, g.current_revision, g.comment_given), h.consult
    ),
    (Status.PENDING, Action.CANCEL): Transition((g.is_requester,), h.cancel),
    (Status.PENDING, Action.TICK): Transition((), h.tick),
    (Status.PENDING, Action.FREEZE): Transition((), h.freeze),
    (Status.PENDING, Action.THAW): Transition((), h.thaw),
    **{
        (status, action): Transition((g.refuse_decided,), h.unreachable)
        for status in TERMINAL
        for action in _PERSON_ACTIONS
    },
    **{
        (status, Action.OPEN): Transition((g.refuse_existing,), h.unreachable)
        for status in TERMINAL
    },
    **{
        (status, action): Transition((), h.ignore)
        for status in TERMINAL
        for action in (Action.TICK, Action.FREEZE, Action.THAW)
    },
}


def step(
    state: ApprovalRequest | None, command: Command, policy: Policy, now: datetime, digest: str
) -> Step:
    """Apply one command to one request; the only way a request's status changes."""
    if state is None:
        if isinstance(command, OpenRequest):
            return open_request(command, policy, now, digest)
        return Step(
            None,
            (),
            (),
            Outcome(False, Problem.UNKNOWN_REQUEST, f"There is no request {command.request_id}."),
        )
    if state.status is Status.PENDING and now >= state.expires_at and command.action != Action.TICK:
        # The deadline passed before this click arrived: the expiry wins, the click is stale.
        expired = h.expire(Context(state, Tick(request_id=state.id), policy, now, digest))
        refused = step(expired.state, command, policy, now, digest)
        return Step(
            refused.state,
            expired.effects + refused.effects,
            expired.audit + refused.audit,
            refused.outcome,
        )
    ctx = Context(state, command, policy, now, digest)
    transition = TRANSITIONS[(state.status, command.action)]
    for guard in transition.guards:
        refusal = guard(ctx)
        if refusal is not None:
            return _refuse(ctx, refusal)
    return transition.handler(ctx)


def refuse_foreign_card(
    state: ApprovalRequest, command: Command, policy: Policy, now: datetime, digest: str
) -> Step:
    """A button pressed on a message that is not one of this request's cards (copied or forged)."""
    refusal = Refusal(
        Denial.WRONG_LOCATION,
        "That button is not on one of this request's cards, so it cannot count.",
    )
    return _refuse(Context(state, command, policy, now, digest), refusal)


def _refuse(ctx: Context, refusal: Refusal) -> Step:
    """A refused action leaves the state alone; a refused person is a security event."""
    outcome = Outcome(False, refusal.code, refusal.message)
    if not isinstance(refusal.code, Denial):
        return Step.unchanged(ctx.state, outcome)
    event = h.request_event(
        ctx, "denied", attempted=ctx.command.action.value, reason=refusal.code.value
    )
    effects: tuple[Effect, ...] = ()
    if refusal.code in (Denial.DECIDED, Denial.STALE):
        effects = (RefreshCards(request_id=ctx.state.id),)
    return Step(ctx.state, effects, (event,), outcome)
