"""What the GitHub deployment gate tells a waiting run: progress comments and the verdict; pure.

GitHub takes `approved` or `rejected` and a comment; a request that expired or was cancelled
is `rejected`, saying why, since nothing but an approval may let a deployment through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workflows.model import ApprovalRequest, Status, Verdict
from workflows.policy import Policy
from workflows.wording import describe, display_name, names, outcome_text, tally

# GitHub shows the comment on the run; a long one helps nobody there, the console has it all.
MAX_COMMENT = 1000
GateState = Literal["approved", "rejected"]


@dataclass(frozen=True)
class GateReview:
    """One POST to the run's callback: a verdict with a comment, or a comment alone."""

    state: GateState | None
    comment: str


def review_of(state: ApprovalRequest, policy: Policy) -> GateReview:
    """The verdict for a decided request, or how a pending one stands."""
    said = f"{describe(state)} was {outcome_text(state, policy)}."
    match state.status:
        case Status.APPROVED:
            return GateReview("approved", _short(f"Approved in Signoff. {said}"))
        case Status.REJECTED:
            return GateReview("rejected", _short(f"Rejected in Signoff. {said}"))
        case Status.EXPIRED:
            why = "Nobody approved it in time, so the deployment may not go ahead."
            return GateReview("rejected", _short(f"Rejected: the request expired. {said} {why}"))
        case Status.CANCELLED:
            why = "A cancelled request never lets a deployment through."
            said = f"Rejected: the request was cancelled. {said} {why}"
            return GateReview("rejected", _short(said))
    return GateReview(None, _short(_progress(state, policy)))


def refused(reason: str) -> GateReview:
    """The answer to a deployment Signoff would not open a request for."""
    return GateReview("rejected", _short(f"Rejected: Signoff opened no request. {reason}"))


def _progress(state: ApprovalRequest, policy: Policy) -> str:
    parts = [f"{describe(state)} is waiting: {tally(state)}"]
    if state.approvals:
        parts[0] += f" ({names(policy, state.approvers())})"
    parts[0] += "."
    for vote in state.consultations:
        who = display_name(policy, vote.person)
        if vote.verdict is Verdict.CONCERN:
            parts.append(f"{who} raised a concern: {vote.comment or 'no comment'}.")
        else:
            parts.append(f"{who} has no objection.")
    waiting = [p for p in state.consulted if p not in state.answered()]
    if waiting and state.consult_first:
        parts.append(f"Consultation first: waiting for {names(policy, tuple(waiting))}.")
    if state.frozen_by:
        parts.append(f"Frozen while incident {state.frozen_by} is open.")
    return " ".join(parts)


def _short(text: str) -> str:
    return text if len(text) <= MAX_COMMENT else text[: MAX_COMMENT - 1] + "…"
