"""The result types of the approval machine: outcomes, refusals and steps; pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflows.effects import Effect
from workflows.ledger import AuditEvent
from workflows.model import ApprovalRequest


class Denial(StrEnum):
    """Why a person may not do what they tried; each is audited as a security event."""

    UNKNOWN_PERSON = "unknown-person"
    NOT_ACCOUNTABLE = "not-accountable"
    NOT_CONSULTED = "not-consulted"
    SELF_APPROVAL = "self-approval"
    NOT_REQUESTER = "not-requester"
    NOT_RESPONSIBLE = "not-responsible"
    DECIDED = "decided"
    STALE = "stale"
    CONSULTATION_PENDING = "consultation-pending"
    FROZEN = "frozen"
    WRONG_LOCATION = "wrong-location"
    OUTSIDE_ORGANISATION = "outside-organisation"
    CLIENT_NOT_ALLOWED = "client-not-allowed"


class Problem(StrEnum):
    """Input that cannot be acted on; answered, not audited."""

    REASON_REQUIRED = "reason-required"
    COMMENT_REQUIRED = "comment-required"
    UNKNOWN_SYSTEM = "unknown-system"
    UNKNOWN_ACTIVITY = "unknown-activity"
    VERSION_REQUIRED = "version-required"
    NO_APPROVER = "no-approver"
    DUPLICATE_ID = "duplicate-id"
    UNKNOWN_REQUEST = "unknown-request"


@dataclass(frozen=True)
class Refusal:
    code: Denial | Problem
    message: str


@dataclass(frozen=True)
class Outcome:
    """What the person who acted is told; refusals are shown only to them."""

    ok: bool
    code: str
    message: str


@dataclass(frozen=True)
class Step:
    """The result of one command: new state, effects to carry out, events to record."""

    state: ApprovalRequest | None
    effects: tuple[Effect, ...]
    audit: tuple[AuditEvent, ...]
    outcome: Outcome

    @classmethod
    def unchanged(cls, state: ApprovalRequest | None, outcome: Outcome) -> Step:
        return cls(state, (), (), outcome)
