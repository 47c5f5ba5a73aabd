"""Opening an approval of one activity: who may ask, the pinned rules, who is asked; pure."""

from __future__ import annotations

from datetime import datetime

from workflows.commands import OpenRequest
from workflows.effects import Audience, Effect, PostCard, Target
from workflows.github import GITHUB
from workflows.inventory import (
    accountable_people,
    backup_people,
    consulted_people,
    informed_of,
    raci_for,
    responsible_people,
)
from workflows.ledger import AuditEvent, format_time
from workflows.machine_types import Denial, Outcome, Problem, Step
from workflows.model import ApprovalRequest
from workflows.policy import DEPLOY, Policy
from workflows.provenance import provenance_data
from workflows.wording import (
    activity_on,
    describe,
    frozen_text,
    names,
    subject,
    unknown_activity,
)

# The platform of machines asking through API v1; their platform_user_id is the client's name.
API = "api"


def open_request(command: OpenRequest, policy: Policy, now: datetime, digest: str) -> Step:
    """A new pending request, its cards to Accountable and Consulted, its Informed posts."""
    problem = _cannot_open(command, policy)
    if problem is not None:
        return Step.unchanged(None, problem)
    system, activity = command.system, command.activity
    refused = _refuse_asker(command, policy)
    if refused is not None:
        return refused
    problem = _needs_version(command)
    if problem is not None:
        return Step.unchanged(None, problem)
    if command.frozen_by and policy.freezes(system, activity):
        message = (
            f"{frozen_text(activity, system, command.frozen_by)}; ask again once it is closed."
        )
        return _denied(command, Denial.FROZEN, message, incident=command.frozen_by)
    rules = policy.rules_for(system, activity)
    requesters = {command.actor.person, command.on_behalf_of}
    deciders = tuple(p for p in accountable_people(policy, system, activity) if p not in requesters)
    backups = tuple(
        p
        for p in backup_people(policy, system, activity)
        if p not in requesters and p not in deciders
    )
    # Never open a request nobody can decide: when the asker is one of too few Accountable
    # people, the role's backup is asked at once; without enough backup, nothing is opened.
    routed = len(deciders) < rules.quorum
    if routed and len(deciders) + len(backups) < rules.quorum:
        return Step.unchanged(
            None,
            Outcome(
                False,
                Problem.NO_APPROVER,
                f"Nobody but you could approve {subject(activity, system, None, None)}: it "
                f"needs {rules.quorum} approval(s) from people other than the requester, and "
                f"the Accountable and their backup hold only {len(deciders) + len(backups)}. "
                "Ask your AI governance lead to add someone to the policy.",
            ),
        )
    asked = deciders + backups if routed else deciders
    consulted = tuple(p for p in consulted_people(policy, system, activity) if p not in requesters)
    state = ApprovalRequest(
        id=command.request_id,
        system=system,
        activity=activity,
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
        escalated=routed,
        artifact=command.artifact,
        ci=command.ci,
        agent=command.agent,
    )
    informed = informed_of(policy, system, activity)
    effects: tuple[Effect, ...] = (
        *(
            PostCard(request_id=state.id, audience=Audience.APPROVER, to=Target(person=p))
            for p in asked
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
            "activity": state.activity,
            "system": state.system,
            "version": state.version,
            "environment": state.environment,
            "reason": state.reason,
            "on_behalf_of": state.on_behalf_of,
            "quorum": state.quorum,
            "consult_first": state.consult_first,
            "consulted": list(consulted),
            "asked": list(asked),
            "expires_at": format_time(state.expires_at),
            **provenance_data(state.artifact, state.ci, state.agent),
        },
    )
    message = f"{describe(state)} is open; asked {names(policy, asked)} to approve"
    message += f" ({state.quorum} needed)."
    if routed:
        message += (
            f" Too few Accountable people besides you can approve, so the backup "
            f"({names(policy, backups)}) was asked at once."
        )
    return Step(state, effects, (event,), Outcome(True, "opened", message))


def _refuse_asker(command: OpenRequest, policy: Policy) -> Step | None:
    """People ask as an activity's Responsible; a machine as the policy's `clients:` allow."""
    system, activity = command.system, command.activity
    if command.actor.platform == API:
        client = policy.clients.get(command.actor.platform_user_id)
        if client is not None and client.may_ask(system, activity):
            return None
        message = (
            f"The policy does not let client {command.actor.platform_user_id} ask for "
            f"{activity_on(activity, system)}."
        )
        return _denied(command, Denial.CLIENT_NOT_ALLOWED, message)
    if command.actor.platform == GITHUB:
        return _refuse_gate(command, policy)
    asker = command.on_behalf_of or command.actor.person
    responsible = responsible_people(policy, system, activity)
    if asker is not None and asker in responsible:
        return None
    raci = raci_for(policy, system, activity)
    roles = ", ".join(raci.responsible) if raci else "nobody"
    message = (
        f"Only the Responsible for {activity_on(activity, system)} may ask for it: "
        f"{roles} ({names(policy, responsible)})."
    )
    return _denied(command, Denial.NOT_RESPONSIBLE, message)


def _refuse_gate(command: OpenRequest, policy: Policy) -> Step | None:
    """The deployment gate asks for a repository (its account) what `github:` maps."""
    repository, environment = command.actor.platform_user_id, command.environment or ""
    gate = policy.github
    mapped = gate.system_for(repository, environment) if gate is not None else None
    if command.activity == DEPLOY and mapped == command.system:
        return None
    message = (
        f"The policy's github: section does not let {repository} ({environment or 'no'} "
        f"environment) ask for {activity_on(command.activity, command.system)}."
    )
    return _denied(command, Denial.CLIENT_NOT_ALLOWED, message)


def _cannot_open(command: OpenRequest, policy: Policy) -> Outcome | None:
    """Input that names nothing the policy knows: answered, not audited."""
    system = policy.systems.get(command.system)
    if system is None:
        known = ", ".join(sorted(policy.systems)) or "none"
        return Outcome(
            False,
            Problem.UNKNOWN_SYSTEM,
            f"There is no AI system '{command.system}' in the inventory. Known: {known}.",
        )
    if command.activity not in system.approval_activities:
        return Outcome(
            False,
            Problem.UNKNOWN_ACTIVITY,
            unknown_activity(policy, command.system, command.activity),
        )
    return None


def _needs_version(command: OpenRequest) -> Outcome | None:
    """Asked after who may ask: one who may not is refused for that, not coached on fields."""
    if command.activity == DEPLOY and not command.version:
        return Outcome(
            False,
            Problem.VERSION_REQUIRED,
            f"Name the version to deploy: deploy {command.system} <version>.",
        )
    return None


def _denied(command: OpenRequest, code: Denial, message: str, **data: str) -> Step:
    """A refused request is recorded: asking without the right is worth an audit line."""
    event = AuditEvent(
        action="denied",
        subject_type="request",
        subject_id=command.request_id,
        actor=command.actor,
        data={
            "attempted": "open",
            "reason": code.value,
            "activity": command.activity,
            "system": command.system,
            **data,
        },
    )
    return Step(None, (), (event,), Outcome(False, code, message))
