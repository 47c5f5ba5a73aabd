"""Plain-English phrases about requests, shared by outcomes and notifications; pure."""

from __future__ import annotations

from workflows.inventory import raci_for
from workflows.model import ApprovalRequest, Status
from workflows.policy import Policy
from workflows.times import readable_time


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


def describe(state: ApprovalRequest) -> str:
    """`Request R1 to deploy credit-scoring 2.3.1 to prod`."""
    target = f" to {state.environment}" if state.environment else ""
    return f"Request {state.id} to deploy {state.system} {state.version}{target}"


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
            return f"expired unanswered{when} ({tally(state)}); nothing was deployed"
        case _:
            return f"pending ({tally(state)})"


def raci_text(policy: Policy, system_id: str) -> str:
    system = policy.systems.get(system_id)
    if system is None:
        return f"There is no AI system '{system_id}' in the inventory."
    lines = [f"{system.name} ({system_id}), tier {system.tier}"]
    for activity in system.raci:
        raci = raci_for(policy, system_id, activity)
        if raci is not None:
            lines.append(
                f"{activity}: R {', '.join(raci.responsible)}; A {raci.accountable}; "
                f"C {', '.join(raci.consulted) or 'none'}; I {', '.join(raci.informed) or 'none'}"
            )
    return "\n".join(lines)
