"""The incident lifecycle: one transition table and `incident_step()`; pure.

`incident_step(state, command, policy, now)` returns the new incident, the effects to carry
out (the room, the freeze, the review) and the audit events. Who may open and who may close
is decided here, from the policy in force.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workflows.incidents import (
    EndIncident,
    FreezeDeploys,
    Incident,
    IncidentAction,
    IncidentCommand,
    IncidentEffect,
    IncidentStatus,
    OpenRoom,
    PostInRoom,
    ReviewAfterIncident,
    StartIncident,
    ThawDeploys,
    incident_raci,
    informed_channels,
    room_members,
    room_name,
)
from workflows.inventory import people_of
from workflows.ledger import AuditEvent, format_time
from workflows.machine_types import Denial, Outcome, Problem, Refusal
from workflows.policy import Policy
from workflows.times import readable_time
from workflows.wording import display_name, names


@dataclass(frozen=True)
class IncidentStep:
    state: Incident | None
    effects: tuple[IncidentEffect, ...]
    audit: tuple[AuditEvent, ...]
    outcome: Outcome


@dataclass(frozen=True)
class Ctx:
    state: Incident | None
    command: IncidentCommand
    policy: Policy
    now: datetime


Guard = Callable[[Ctx], Refusal | None]
Handler = Callable[[Ctx], IncidentStep]


def _system_known(ctx: Ctx) -> Refusal | None:
    system = getattr(ctx.command, "system", "")
    if system in ctx.policy.systems:
        return None
    known = ", ".join(sorted(ctx.policy.systems)) or "none"
    return Refusal(Problem.UNKNOWN_SYSTEM, f"There is no AI system '{system}'. Known: {known}.")


def _raci_people(policy: Policy, system: str) -> tuple[str, ...]:
    found = policy.systems[system]
    refs: list[str] = []
    for raci in found.raci.values():
        refs += [*raci.responsible, raci.accountable, *raci.consulted]
        refs += [ref for ref in raci.informed if not ref.startswith("#")]
    return people_of(policy, tuple(refs))


def _answerable(policy: Policy, system: str) -> tuple[str, ...]:
    raci = incident_raci(policy, system)
    return people_of(policy, (*raci.responsible, raci.accountable)) if raci else ()


def _may_report(ctx: Ctx) -> Refusal | None:
    system = getattr(ctx.command, "system", "")
    if ctx.command.actor.person in _raci_people(ctx.policy, system):
        return None
    return Refusal(
        Denial.NOT_ACCOUNTABLE,
        f"Only people in the RACI of {system} can open an incident on it; ask "
        f"{names(ctx.policy, _answerable(ctx.policy, system))}.",
    )


def _may_close(ctx: Ctx) -> Refusal | None:
    assert ctx.state is not None
    allowed = _answerable(ctx.policy, ctx.state.system)
    if ctx.command.actor.person in allowed:
        return None
    return Refusal(
        Denial.NOT_ACCOUNTABLE,
        f"Only the incident's Responsible or Accountable ({names(ctx.policy, allowed)}) can "
        "close it.",
    )


def _summary_given(ctx: Ctx) -> Refusal | None:
    if ctx.command.summary.strip():
        return None
    return Refusal(Problem.REASON_REQUIRED, "Say in a few words how the incident ended.")


def _event(ctx: Ctx, incident_id: str, action: str, **data: object) -> AuditEvent:
    return AuditEvent(
        action=action,
        subject_type="incident",
        subject_id=incident_id,
        actor=ctx.command.actor,
        data=data,
    )


def first_message(incident: Incident, policy: Policy) -> str:
    system = policy.systems[incident.system]
    raci = incident_raci(policy, incident.system)
    lines = [
        f"Incident {incident.id} ({incident.severity}) on {system.name} ({incident.system}), "
        f"risk tier {system.tier}",
        incident.summary,
        f"Reported by {display_name(policy, incident.reporter.person)} at "
        f"{readable_time(incident.opened_at, policy.timezone)}",
        f"Data: {', '.join(system.data) or 'none listed in the policy'}",
        f"Runbook: {system.runbook or 'none in the policy'}",
    ]
    if raci is not None:
        lines.append(
            f"R: {', '.join(raci.responsible)}; A: {raci.accountable}; "
            f"C: {', '.join(raci.consulted) or 'none'}; I: {', '.join(raci.informed) or 'none'}"
        )
    lines.append(
        f"Deployments of {incident.system} are frozen until it is closed with "
        f"/signoff incident close {incident.id} -- <what happened>"
    )
    return "\n".join(lines)


def _start(ctx: Ctx) -> IncidentStep:
    command = ctx.command
    assert isinstance(command, StartIncident)
    private = command.severity in ctx.policy.incidents.private_severities
    incident = Incident(
        id=command.incident_id,
        system=command.system,
        severity=command.severity,
        summary=command.summary.strip(),
        reporter=command.actor,
        room=room_name(
            ctx.now, command.system, command.number, ctx.policy.incidents.slack_team_channel_prefix
        ),
        private=private,
        opened_at=ctx.now,
    )
    members = room_members(ctx.policy, incident.system, command.actor.person)
    room = OpenRoom(
        incident_id=incident.id,
        name=incident.room,
        private=private,
        topic=f"{incident.severity} {incident.system}: {incident.summary}"[:250],
        first_message=first_message(incident, ctx.policy),
        members=members,
        owner=command.actor.person or (members[0] if members else None),
        informed=informed_channels(ctx.policy, incident.system),
        announcement=(
            f"Incident {incident.id} ({incident.severity}) opened on {incident.system}: "
            f"{incident.summary}"
        ),
    )
    event = _event(
        ctx,
        incident.id,
        "incident-opened",
        system=incident.system,
        severity=incident.severity,
        summary=incident.summary,
        room=incident.room,
        private=private,
    )
    message = (
        f"Incident {incident.id} opened: room {incident.room}. Deployments of "
        f"{incident.system} are frozen until it is closed."
    )
    effects = (room, FreezeDeploys(system=incident.system, incident_id=incident.id))
    return IncidentStep(incident, effects, (event,), Outcome(True, "incident-opened", message))


def _already_open(ctx: Ctx) -> IncidentStep:
    assert ctx.state is not None
    message = (
        f"Incident {ctx.state.id} on {ctx.state.system} is already open, in room "
        f"{ctx.state.room}; join it there."
    )
    return IncidentStep(ctx.state, (), (), Outcome(False, "incident-open", message))


def _close(ctx: Ctx) -> IncidentStep:
    assert ctx.state is not None and isinstance(ctx.command, EndIncident)
    summary = ctx.command.summary.strip()
    closed = ctx.state.model_copy(
        update={
            "status": IncidentStatus.CLOSED,
            "closed_at": ctx.now,
            "closed_by": ctx.command.actor,
            "closing_summary": summary,
        }
    )
    due = ctx.now + ctx.policy.incidents.review_within
    text = (
        f"Incident {closed.id} closed by {display_name(ctx.policy, ctx.command.actor.person)}: "
        f"{summary}\nDeployments of {closed.system} may go ahead again. A risk review of "
        f"{closed.system} is due by {readable_time(due, ctx.policy.timezone)}."
    )
    effects: tuple[IncidentEffect, ...] = (
        PostInRoom(
            incident_id=closed.id, text=text, informed=informed_channels(ctx.policy, closed.system)
        ),
        ThawDeploys(system=closed.system, incident_id=closed.id),
        ReviewAfterIncident(system=closed.system, incident_id=closed.id, due_at=due),
    )
    event = _event(ctx, closed.id, "incident-closed", summary=summary, review_due=format_time(due))
    return IncidentStep(closed, effects, (event,), Outcome(True, "incident-closed", text))


def _already_closed(ctx: Ctx) -> IncidentStep:
    assert ctx.state is not None
    closed_at = ctx.state.closed_at
    when = readable_time(closed_at, ctx.policy.timezone) if closed_at else "an earlier time"
    message = f"Incident {ctx.state.id} was closed at {when}."
    return IncidentStep(ctx.state, (), (), Outcome(False, "incident-closed-before", message))


@dataclass(frozen=True)
class Transition:
    guards: tuple[Guard, ...]
    handler: Handler


TRANSITIONS: dict[tuple[IncidentStatus | None, IncidentAction], Transition] = {
    (None, IncidentAction.OPEN): Transition((_system_known, _may_report), _start),
    (IncidentStatus.OPEN, IncidentAction.OPEN): Transition((), _already_open),
    (IncidentStatus.OPEN, IncidentAction.CLOSE): Transition((_may_close, _summary_given), _close),
    (IncidentStatus.CLOSED, IncidentAction.CLOSE): Transition((), _already_closed),
}


def incident_step(
    state: Incident | None, command: IncidentCommand, policy: Policy, now: datetime
) -> IncidentStep:
    """Apply one command to one incident; for opening, `state` is the system's open incident."""
    if state is None and isinstance(command, EndIncident):
        outcome = Outcome(
            False, Problem.UNKNOWN_REQUEST, f"There is no incident {command.incident_id}."
        )
        return IncidentStep(None, (), (), outcome)
    ctx = Ctx(state, command, policy, now)
    transition = TRANSITIONS[(state.status if state else None, command.action)]
    for guard in transition.guards:
        refusal = guard(ctx)
        if refusal is not None:
            return _refuse(ctx, refusal)
    return transition.handler(ctx)


def _refuse(ctx: Ctx, refusal: Refusal) -> IncidentStep:
    outcome = Outcome(False, refusal.code, refusal.message)
    if not isinstance(refusal.code, Denial):
        return IncidentStep(ctx.state, (), (), outcome)
    subject = ctx.state.id if ctx.state else ctx.command.incident_id
    event = _event(ctx, subject, "denied", attempted=f"incident-{ctx.command.action.value}",
                   reason=refusal.code.value)  # fmt: skip
    return IncidentStep(ctx.state, (), (event,), outcome)
