"""A request's state as API v1 shows it: the domain's request, its ledger and what was sent.

Translates only; the state and the ledger are read by the caller. Imports the API's models,
`workflows` and nothing of the rest of `bot`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.api.schema import (
    Artifact,
    Consultation,
    Deadlines,
    EventView,
    LedgerRef,
    Links,
    OpenRequestBody,
    PersonAt,
    Quorum,
    Rejection,
    Requester,
    RequestView,
    SystemView,
)
from workflows import provenance as domain
from workflows.guards import waiting_consultations
from workflows.ledger import parse_time
from workflows.model import ApprovalRequest, Status, Verdict
from workflows.policy import Policy


def _waiting_for(state: ApprovalRequest, now: datetime) -> str | None:
    if state.status is not Status.PENDING:
        return None
    if state.consult_first and waiting_consultations(state) and now < state.consult_until:
        return "consultation"
    return "accountable"


def request_view(
    state: ApprovalRequest, body: str, entries: Sequence[Any], now: datetime, base: str = ""
) -> RequestView:
    """The view of `state`; `body` is the JSON the client opened it with, `entries` its
    ledger rows in order. `base` is Signoff's public URL: the links are absolute when it is
    configured, and both relative to this server when not."""
    rejection = state.rejection
    base = base.rstrip("/")
    return RequestView(
        id=state.id,
        status=state.status.value,
        system=state.system,
        activity=state.activity,
        version=state.version,
        environment=state.environment,
        artifact=_artifact(state, body),
        requester=Requester(
            kind="client" if state.requester.platform == "api" else "person",
            name=state.requester.platform_user_id
            if state.requester.platform == "api"
            else (state.requester.person or state.requester.platform_user_id),
            # An ID token's run actor is the person of record, as the cards show it.
            on_behalf_of=state.on_behalf_of or state.requester.person,
        ),
        waiting_for=_waiting_for(state, now),
        frozen_by=state.frozen_by,
        quorum=Quorum(
            needed=state.quorum,
            approvals=[
                PersonAt(person=v.person, platform=v.platform, at=v.at, comment=v.comment)
                for v in state.approvals
            ],
        ),
        consultation=Consultation(
            answered=list(state.answered()),
            concerns=[
                f"{v.person}: {v.comment or ''}".strip()
                for v in state.consultations
                if v.verdict is Verdict.CONCERN
            ],
        ),
        rejection=Rejection(person=rejection.person, reason=rejection.comment, at=rejection.at)
        if rejection
        else None,
        deadlines=Deadlines(
            remind_at=state.remind_at, escalate_at=state.escalate_at, expires_at=state.expires_at
        ),
        policy_digest=state.policy_digest,
        ledger=LedgerRef(
            first_seq=entries[0].seq if entries else None,
            last_seq=entries[-1].seq if entries else None,
            head_hash=entries[-1].hash if entries else None,
        ),
        links=Links(
            console=f"{base}/requests/{state.id}",
            events=f"{base}/api/v1/requests/{state.id}/events",
        ),
    )


def _artifact(state: ApprovalRequest, body: str) -> Artifact | None:
    """What the request is bound to: the state's own (what people saw and decided on);
    for a request opened before states kept it, what the client sent."""
    if state.artifact is not None:
        return Artifact(digest=state.artifact.digest, uri=state.artifact.uri)
    sent = json.loads(body).get("artifact") if body else None
    return Artifact.model_validate(sent) if sent else None


def provenance_of(body: OpenRequestBody) -> dict[str, Any]:
    """The artifact, CI run and agent call of an open, as the core's types (the preview is
    masked again on the way in)."""
    context = body.context
    return {
        "artifact": domain.Artifact(**body.artifact.model_dump()) if body.artifact else None,
        "ci": domain.CiRun(**context.ci.model_dump()) if context and context.ci else None,
        "agent": domain.AgentCall(**context.agent.model_dump())
        if context and context.agent
        else None,
    }


def event_view(row: Any) -> EventView:
    actor = row.actor_person or f"{row.actor_platform}:{row.actor_platform_user_id}"
    return EventView(
        seq=row.seq, at=parse_time(row.at), action=row.action, actor=actor, hash=row.hash
    )


def system_view(
    policy: Policy, system_id: str, frozen_by: str | None, next_review: datetime | None
) -> SystemView:
    system = policy.systems[system_id]
    return SystemView(
        id=system_id,
        name=system.name,
        tier=system.tier,
        activities=list(system.approval_activities),
        accountable={a: system.raci[a].accountable for a in system.approval_activities},
        frozen_by=frozen_by,
        next_review=next_review,
    )
