"""Opening a deployment approval: pin the policy's rules and ask the right people; pure."""

from __future__ import annotations

from datetime import datetime

from workflows.commands import OpenRequest
from workflows.effects import Audience, Effect, PostCard, Target
from workflows.inventory import accountable_people, consulted_people, informed_of, raci_for
from workflows.ledger import AuditEvent, format_time
from workflows.machine_types import Denial, Outcome, Problem, Step
from workflows.model import ApprovalRequest
from workflows.policy import Policy
from workflows.wording import describe, names


def open_request(command: OpenRequest, policy: Policy, now: datetime, digest: str) -> Step:
    """A new pending request, its cards to Accountable and Consulted, its Informed posts."""
    if command.system not in policy.systems:
        known = ", ".join(sorted(policy.systems)) or "none"
        return Step.unchanged(
            None,
            Outcome(
                False,
                Problem.UNKNOWN_SYSTEM,
                f"There is no AI system '{command.system}' in the inventory. Known: {known}.",
            ),
        )
    if raci_for(policy, command.system, "deploy") is None:
        return Step.unchanged(
            None,
            Outcome(
                False,
                Problem.NO_DEPLOY_RACI,
                f"The policy names no one Accountable for deploying {command.system}.",
            ),
        )
    if command.frozen_by:
        # Refused, and recorded: asking to deploy during an incident is worth an audit line.
        event = AuditEvent(
            action="denied",
            subject_type="request",
            subject_id=command.request_id,
            actor=command.actor,
            data={
                "attempted": "open",
                "reason": Denial.FROZEN.value,
                "incident": command.frozen_by,
            },
        )
        message = (
            f"Deployments of {command.system} are frozen while incident {command.frozen_by} is "
            "open; ask again once it is closed."
        )
        return Step(None, (), (event,), Outcome(False, Denial.FROZEN, message))
    rules = policy.rules_for(command.system)
    requesters = {command.actor.person, command.on_behalf_of}
    approvers = tuple(p for p in accountable_people(policy, command.system, "deploy"))
    consulted = tuple(
        p for p in consulted_people(policy, command.system, "deploy") if p not in requesters
    )
    state = ApprovalRequest(
        id=command.request_id,
        system=command.system,
        version=command.version,
        environment=command.environment,
        reason=(command.reason or "").strip() or None,
        requester=command.actor,
        on_behalf_of=command.on_behalf_of,
        policy_digest=digest,
        quorum=rules.quorum,
        consult_first=rules.consult_first,
        consulted=consulted,
        opened_at=now,
        consult_until=now + rules.consultation_window if rules.consult_first else now,
        remind_at=now + rules.remind_after,
        escalate_at=now + rules.escalate_after if rules.escalate_after else None,
        expires_at=now + rules.expire_after,
    )
    informed = informed_of(policy, command.system, "deploy")
    effects: tuple[Effect, ...] = (
        *(
            PostCard(request_id=state.id, audience=Audience.APPROVER, to=Target(person=p))
            for p in approvers
            if p not in requesters
        ),
        *(
            PostCard(request_id=state.id, audience=Audience.CONSULTED, to=Target(person=p))
            for p in consulted
        ),
        *(
            PostCard(request_id=state.id, audience=Audience.INFORMED, to=Target(channel=c))
            for c in informed.channels
        ),
        *(
            PostCard(request_id=state.id, audience=Audience.INFORMED, to=Target(person=p))
            for p in informed.people
        ),
    )
    event = AuditEvent(
        action="requested",
        subject_type="request",
        subject_id=state.id,
        actor=command.actor,
        data={
            "system": state.system,
            "version": state.version,
            "environment": state.environment,
            "reason": state.reason,
            "on_behalf_of": state.on_behalf_of,
            "quorum": state.quorum,
            "consult_first": state.consult_first,
            "consulted": list(consulted),
            "expires_at": format_time(state.expires_at),
        },
    )
    deciders = tuple(p for p in approvers if p not in requesters)
    message = f"{describe(state)} is open; asked {names(policy, deciders)} to approve"
    message += f" ({state.quorum} needed)."
    if len(deciders) < state.quorum:
        message += (
            f" Only {len(deciders)} Accountable people besides you can approve, so it needs "
            "the backup after escalation."
        )
    return Step(state, effects, (event,), Outcome(True, "opened", message))
