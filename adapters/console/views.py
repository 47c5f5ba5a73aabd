"""What the console's templates show, built from the core's state, card views and ledger
entries; pure, imports no `bot`, decides nothing (the buttons are the card view's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflows.cards import CardView, audience_of, card_view
from workflows.model import ApprovalRequest, Status, Verdict
from workflows.policy import Policy
from workflows.wording import describe, display_name, tally

VERDICT_LABELS = {
    Verdict.APPROVE: "Approve",
    Verdict.REJECT: "Reject",
    Verdict.NO_OBJECTION: "No objection",
    Verdict.CONCERN: "Raise concern",
}
# Where chat asks for words before it accepts the click.
NEEDS_WORDS = {Verdict.REJECT: "Reason (required)", Verdict.CONCERN: "Your concern (required)"}


@dataclass(frozen=True)
class Row:
    """One request in a list."""

    id: str
    title: str
    system: str
    activity: str
    status: str
    progress: str
    requester: str
    opened_at: datetime
    expires_at: datetime
    yours: bool
    frozen_by: str | None


def waits_on(state: ApprovalRequest, policy: Policy, person: str | None) -> bool:
    """Whether the card `person` would get of a pending request has buttons they have not used."""
    if person is None or state.status is not Status.PENDING or person in state.requesters():
        return False
    view = card_view(state, policy, audience_of(state, policy, person), person)
    return bool(view.buttons) and person not in state.approvers()


def row(state: ApprovalRequest, policy: Policy, person: str | None) -> Row:
    requester = (
        display_name(policy, state.requester.person)
        if state.requester.person
        else f"{state.requester.platform}:{state.requester.platform_user_id}"
    )
    return Row(
        id=state.id,
        title=describe(state),
        system=state.system,
        activity=state.activity,
        status=state.status.value,
        progress=tally(state),
        requester=requester,
        opened_at=state.opened_at,
        expires_at=state.expires_at,
        yours=waits_on(state, policy, person),
        frozen_by=state.frozen_by,
    )


@dataclass(frozen=True)
class Button:
    verdict: str
    label: str
    words: str | None  # the label of the reason field it needs, None when optional


def buttons(view: CardView, person: str | None, state: ApprovalRequest) -> tuple[Button, ...]:
    """The card's buttons for the viewer, as a console form offers them."""
    if person is None:
        return ()
    return tuple(
        Button(verdict.value, VERDICT_LABELS[verdict], NEEDS_WORDS.get(verdict))
        for verdict in view.buttons
        if not (verdict is Verdict.APPROVE and person in state.approvers())
    )


def viewer_card(state: ApprovalRequest, policy: Policy, person: str | None) -> CardView:
    return card_view(state, policy, audience_of(state, policy, person), person)


@dataclass(frozen=True)
class Context:
    """Where a request came from when a client opened it: pipeline or agent, and its artifact."""

    client: str
    artifact_digest: str | None
    artifact_uri: str | None
    agent: Mapping[str, Any]
    ci: Mapping[str, Any]


def context(client: str | None, body: Mapping[str, Any]) -> Context | None:
    if client is None:
        return None
    artifact = body.get("artifact") or {}
    sent = body.get("context") or {}
    return Context(
        client=client,
        artifact_digest=artifact.get("digest"),
        artifact_uri=artifact.get("uri"),
        agent=sent.get("agent") or {},
        ci=sent.get("ci") or {},
    )


def entry_words(data: Mapping[str, Any]) -> str:
    """The words a person gave with an entry (a reason, a comment), or its refusal code."""
    for key in ("comment", "reason", "summary", "notes"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def by_status(states: Sequence[ApprovalRequest]) -> dict[str, int]:
    counts: dict[str, int] = {status.value: 0 for status in Status}
    for state in states:
        counts[state.status.value] += 1
    return counts
