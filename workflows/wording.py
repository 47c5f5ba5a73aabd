"""Plain-English phrases about requests, shared by outcomes and notifications; pure."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.machine_types import Problem
from workflows.model import ApprovalRequest, Status
from workflows.policy import DEPLOY, Policy
from workflows.times import readable_time


@dataclass(frozen=True)
class MissingField:
    """A refusal that is about a field left empty, and the activity that needs it: chat's
    answer names the command to type, a surface with fields names the field instead."""

    field: str
    activity: str


# The machine's refusals that are a field left empty, by their code.
_MISSING: dict[str, MissingField] = {Problem.VERSION_REQUIRED: MissingField("version", DEPLOY)}


def missing_field(code: str) -> MissingField | None:
    """The field a refusal with `code` is about, or None when it is about no one field."""
    return _MISSING.get(code)


def display_name(policy: Policy, person: str | None) -> str:
    if person is None:
        return "someone Signoff does not know"
    entry = policy.people.get(person)
    return entry.name if entry else person


def names(policy: Policy, people: tuple[str, ...] | list[str]) -> str:
    """`Mina Park, Jae Kim and Soo Lee`, or `nobody`."""
    shown = [display_name(policy, p) for p in people]
    if not shown:
        return "nobody"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def sentence(text: str) -> str:
    """`text` with its first letter raised; unlike `str.capitalize`, the rest keeps its case
    (a system called "Credit scoring model (CSM)" stays so)."""
    return text[:1].upper() + text[1:]


def activity_title(activity: str) -> str:
    """`data-access` -> `Data access`: an activity as a sentence names it."""
    words = activity.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else activity


def activity_on(activity: str, system: str) -> str:
    """`deploying credit-scoring`, `data access to credit-scoring`: the activity in a sentence."""
    if activity == DEPLOY:
        return f"deploying {system}"
    return f"{activity_title(activity).lower()} to {system}"


def frozen_text(activity: str, system: str, incident: str) -> str:
    """Why an approval waits: the system's incident holds it."""
    what = (
        f"Deployments of {system} are"
        if activity == DEPLOY
        else (f"{activity_title(activity)} to {system} is")
    )
    return f"{what} frozen while incident {incident} is open"


def subject(activity: str, system: str, version: str | None, environment: str | None) -> str:
    """What is asked: `deploy credit-scoring 2.3.1 to prod`, `data access to credit-scoring`."""
    version_text = f" {version}" if version else ""
    if activity == DEPLOY:
        target = f" to {environment}" if environment else ""
        return f"deploy {system}{version_text}{target}"
    target = f" in {environment}" if environment else ""
    return f"{activity_title(activity).lower()} to {system}{version_text}{target}"


def describe(state: ApprovalRequest) -> str:
    """`Request R1 to deploy credit-scoring 2.3.1 to prod`; `Request R2 for data access to
    credit-scoring`."""
    asked = subject(state.activity, state.system, state.version, state.environment)
    joint = "to" if state.activity == DEPLOY else "for"
    return f"Request {state.id} {joint} {asked}"


def tally(state: ApprovalRequest) -> str:
    return f"{len(state.approvals)} of {state.quorum} approvals"


def outcome_text(state: ApprovalRequest, policy: Policy) -> str:
    """`approved by Mina Park and Jae Kim at 2026-...Z`, and the like for every status."""
    when = f" at {readable_time(state.decided_at, policy.timezone)}" if state.decided_at else ""
    match state.status:
        case Status.APPROVED:
            return f"approved by {names(policy, state.approvers())}{when}"
        case Status.REJECTED:
            who = display_name(policy, state.rejection.person if state.rejection else None)
            why = state.rejection.comment if state.rejection else None
            return f"rejected by {who}{when}" + (f": {why}" if why else "")
        case Status.CANCELLED:
            return f"cancelled by the requester{when}"
        case Status.EXPIRED:
            nothing = "nothing was deployed" if state.activity == DEPLOY else "nothing was granted"
            return f"expired unanswered{when} ({tally(state)}); {nothing}"
        case _:
            return f"pending ({tally(state)})"


def raci_text(policy: Policy, system_id: str) -> str:
    """Who is R, A, C and I for every activity of a system, with each approval's quorum."""
    system = policy.systems.get(system_id)
    if system is None:
        return f"There is no AI system '{system_id}' in the inventory."
    lines = [f"{system.name} ({system_id}), tier {system.tier}"]
    for activity, raci in system.raci.items():
        quorum = ""
        if activity in system.approval_activities and system.tier in policy.tiers:
            quorum = f" (approval, quorum {policy.rules_for(system_id, activity).quorum})"
        lines.append(
            f"{activity}{quorum}: R {', '.join(raci.responsible)}; A {raci.accountable}; "
            f"C {', '.join(raci.consulted) or 'none'}; I {', '.join(raci.informed) or 'none'}"
        )
    return "\n".join(lines)


def activities_text(policy: Policy, system_id: str) -> str:
    """What can be asked for a system, and who may ask for each."""
    system = policy.systems[system_id]
    lines = [f"What you can ask for {system.name} ({system_id}):"]
    for activity in system.approval_activities:
        raci = system.raci[activity]
        usage = (
            f"deploy {system_id} <version> [to <env>]"
            if activity == DEPLOY
            else f"request {activity} {system_id} [<version>] [to <env>]"
        )
        lines.append(
            f"{usage} [-- <reason>]\n    {activity_title(activity)}: asked by "
            f"{', '.join(raci.responsible)}, approved by {raci.accountable}"
        )
    return "\n".join(lines)


def unknown_activity(policy: Policy, system_id: str, activity: str) -> str:
    """The answer to a request for an activity the system does not have."""
    system = policy.systems[system_id]
    known = ", ".join(system.approval_activities) or "none"
    hint = ""
    if activity == "risk-review":
        hint = f" Risk reviews are started with 'review {system_id}'."
    elif activity == "incident":
        hint = f" Incidents are opened with 'incident {system_id} <sev1..sev4> <summary>'."
    return f"{system_id} has no approval activity '{activity}'; its activities are: {known}.{hint}"
