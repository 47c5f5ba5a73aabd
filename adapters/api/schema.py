"""The JSON of API v1: what a client sends and what it reads back, as pydantic models.

The same models validate requests and generate the OpenAPI document, so the two cannot
disagree. Imports pydantic only; no aiohttp, no `bot`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]
Text = Annotated[str, StringConstraints(max_length=2000)]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
RequestStatus = Literal["pending", "approved", "rejected", "expired", "cancelled"]


class _Body(BaseModel):
    """What a client sends: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Artifact(_Body):
    digest: Digest = Field(description="what is approved; the client checks it before it acts")
    uri: Annotated[str, StringConstraints(max_length=2000)] | None = None


class CiContext(_Body):
    provider: Literal["github", "gitlab", "other"]
    repository: Text | None = None
    run_id: Annotated[str, StringConstraints(max_length=100)] | None = None
    run_url: Text | None = None
    sha: Annotated[str, StringConstraints(max_length=100)] | None = None


class AgentContext(_Body):
    name: Annotated[str, StringConstraints(max_length=100)]
    session: Annotated[str, StringConstraints(max_length=200)] | None = None
    tool: Annotated[str, StringConstraints(max_length=200)] | None = None
    arguments_digest: Digest | None = None
    preview: Text | None = Field(
        default=None, description="the tool call as approvers see it, secrets already masked"
    )


class Context(_Body):
    ci: CiContext | None = None
    agent: AgentContext | None = None


class Callback(_Body):
    """Where every vote and the final state are POSTed, signed as Standard Webhooks with the
    client's `whsec_` secret; `webhook-id` is the ledger entry's seq."""

    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https://")] = Field(
        description="https, under one of the client's `callbacks:` prefixes, never a private "
        "or loopback address unless the operator allows it"
    )


class OpenRequestBody(_Body):
    """`POST /api/v1/requests`: ask the policy's people to approve one activity."""

    system: Name
    activity: Name = "deploy"
    version: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    environment: Annotated[str, StringConstraints(max_length=100)] | None = None
    reason: Text | None = None
    artifact: Artifact | None = None
    context: Context | None = None
    on_behalf_of: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="a policy person's id or email; they may not approve it"
    )
    callback: Callback | None = None


class CancelBody(_Body):
    reason: Text = Field(min_length=1)


class PersonAt(_View):
    person: str
    platform: str
    at: datetime
    comment: str | None = Field(default=None, description="what the approver wrote, if anything")


class Quorum(_View):
    needed: int
    approvals: list[PersonAt]


class Consultation(_View):
    answered: list[str]
    concerns: list[str]


class Rejection(_View):
    person: str
    reason: str | None
    at: datetime


class Deadlines(_View):
    remind_at: datetime | None
    escalate_at: datetime | None
    expires_at: datetime


class Requester(_View):
    kind: Literal["person", "client"]
    name: str
    on_behalf_of: str | None


class LedgerRef(_View):
    first_seq: int | None
    last_seq: int | None
    head_hash: str | None


class Links(_View):
    console: str
    events: str


class RequestView(_View):
    """A request as a client reads it; `status` is the only field a gate acts on."""

    id: str
    status: RequestStatus
    system: str
    activity: str
    version: str | None
    environment: str | None
    artifact: Artifact | None
    requester: Requester
    waiting_for: Literal["consultation", "accountable"] | None
    frozen_by: str | None
    quorum: Quorum
    consultation: Consultation
    rejection: Rejection | None
    deadlines: Deadlines
    policy_digest: str
    ledger: LedgerRef
    links: Links


class RequestPage(_View):
    items: list[RequestView]
    next_cursor: str | None


class EventView(_View):
    seq: int
    at: datetime
    action: str
    actor: str
    hash: str


class EventList(_View):
    items: list[EventView]


class SystemView(_View):
    id: str
    name: str
    tier: str
    activities: list[str]
    accountable: dict[str, str] = Field(description="activity -> the Accountable role")
    frozen_by: str | None
    next_review: datetime | None


class WhoAmI(_View):
    client: str
    authenticated_by: Literal["token", "github", "gitlab"]
    on_behalf_of: str | None
    may_request: dict[str, list[str]]


class Problem(_View):
    """RFC 9457 problem details; `type` is stable and documented."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
