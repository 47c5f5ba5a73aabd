"""The neutral domain types: actors, requests, votes and consultations; pure."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from workflows.provenance import AgentCall, Artifact, CiRun


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(_Frozen):
    """Who did something: a policy person when known, and the platform account they used.

    `person` is None for someone the policy does not know; such an actor may ask but never
    counts as an approver. The scheduler acts as platform `system`.
    """

    person: str | None
    platform: str
    platform_user_id: str


SYSTEM_ACTOR = Actor(person=None, platform="system", platform_user_id="signoff")


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL = frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED})


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NO_OBJECTION = "no-objection"
    CONCERN = "concern"


class Vote(_Frozen):
    """One person's answer; a person answers once per request and role."""

    person: str
    verdict: Verdict
    at: datetime
    platform: str
    comment: str | None = None


class ApprovalRequest(_Frozen):
    """An approval of one activity on one system, and everything pinned when it was opened.

    `activity` is a key of the system's RACI (`deploy` for requests stored before activities
    had names). `revision` grows with every change a card shows, so a button from an older
    card is stale.
    """

    id: str
    system: str
    activity: str = "deploy"
    version: str | None = None
    environment: str | None = None
    reason: str | None = None
    requester: Actor
    on_behalf_of: str | None = Field(
        default=None, description="the person a bot or CI pipeline asked for"
    )
    status: Status = Status.PENDING
    revision: int = 1
    policy_digest: str
    quorum: int
    consult_first: bool
    consulted: tuple[str, ...] = ()
    opened_at: datetime
    consult_until: datetime
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    expires_at: datetime
    approvals: tuple[Vote, ...] = ()
    consultations: tuple[Vote, ...] = ()
    rejection: Vote | None = None
    decided_at: datetime | None = None
    reminders_sent: int = 0
    escalated: bool = False
    frozen_by: str | None = Field(default=None, description="an open incident's id")
    artifact: Artifact | None = None
    ci: CiRun | None = None
    agent: AgentCall | None = None

    def requesters(self) -> tuple[str, ...]:
        """Every person who asked, directly or through a bot; none of them may decide."""
        people = (self.requester.person, self.on_behalf_of)
        return tuple(p for p in people if p is not None)

    def approvers(self) -> tuple[str, ...]:
        return tuple(v.person for v in self.approvals)

    def answered(self) -> tuple[str, ...]:
        return tuple(v.person for v in self.consultations)
