"""What waits on a person: pending requests they may decide or were consulted on; pure."""

from __future__ import annotations

from collections.abc import Iterable

from workflows.guards import eligible_approvers, waiting_consultations
from workflows.model import ApprovalRequest, Status
from workflows.policy import Policy
from workflows.times import readable_time
from workflows.wording import describe, tally


def waiting_on(person: str | None, requests: Iterable[ApprovalRequest], policy: Policy) -> str:
    """One line per request that needs this person's answer, oldest first."""
    if person is None:
        return "Signoff's policy does not know you, so nothing can wait on you."
    lines = []
    for state in sorted(requests, key=lambda r: r.opened_at):
        if state.status is not Status.PENDING or person in state.requesters():
            continue
        if person in eligible_approvers(state, policy) and person not in state.approvers():
            what = f"your approval ({tally(state)})"
        elif person in waiting_consultations(state):
            what = "your view as Consulted"
        else:
            continue
        expires = readable_time(state.expires_at, policy.timezone)
        lines.append(f"{describe(state)}: {what}; expires {expires}")
    return "\n".join(lines) if lines else "Nothing waits on you."
