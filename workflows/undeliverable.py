"""What happens when a request's card cannot reach someone: the ledger and the requester; pure.

A card that was dead-lettered is a person who was not asked. The decision does not wait on
them silently: the requester is told who and why, and the ledger says so for the auditors.
"""

from __future__ import annotations

from workflows.effects import Notify, Target
from workflows.ledger import AuditEvent
from workflows.model import SYSTEM_ACTOR, ApprovalRequest
from workflows.policy import Policy
from workflows.wording import describe, display_name

PLATFORM_NAMES = {"slack": "Slack", "teams": "Microsoft Teams"}


def unreachable(
    state: ApprovalRequest, policy: Policy, person: str, platform: str, why: str
) -> tuple[AuditEvent, Notify]:
    """The ledger entry and the requester's notice for a card that could not be delivered."""
    where = PLATFORM_NAMES.get(platform, platform)
    event = AuditEvent(
        action="undeliverable",
        subject_type="request",
        subject_id=state.id,
        actor=SYSTEM_ACTOR,
        data={"activity": state.activity, "person": person, "platform": platform, "why": why},
    )
    text = (
        f"{describe(state)}: Signoff could not reach {display_name(policy, person)} on {where} "
        f"({why}). Ask them another way, or fix their entry in the policy."
    )
    return event, Notify(request_id=state.id, text=text, to=Target(actor=state.requester))
