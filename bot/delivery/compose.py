"""Builds what the relay sends from an outbox row and current database state; no adapters' SDKs.

Cards are rendered from the request as it is now, never from the click that caused the
message, so sending the same update twice shows the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import Destination, MessageRef, OutgoingMessage
from bot.delivery.messages import Address, CardMessage, Composable, TextMessage, UpdateMessage
from bot.storage.tables import approval_requests, chat_messages, risk_reviews
from workflows.cards import card_view
from workflows.effects import Audience
from workflows.model import ApprovalRequest
from workflows.policy import Policy
from workflows.reviews import RiskReview

# A page's reads, built once.
_COPIES = select(
    chat_messages.c.id, chat_messages.c.audience, chat_messages.c.person, chat_messages.c.ref
).where(chat_messages.c.id.in_(bindparam("ids", expanding=True)))
_STATES = select(approval_requests.c.id, approval_requests.c.state).where(
    approval_requests.c.id.in_(bindparam("ids", expanding=True))
)


class NothingToSend(Exception):
    """The row points at something that no longer exists; drop it."""


def destination(policy: Policy, platform: str, address: Address) -> Destination:
    """A policy address (person, channel or platform user) as the adapter needs it."""
    kind, key = address.kind, address.key
    if kind == "person":
        person = policy.people.get(key)
        if person is None:
            raise NothingToSend(f"person {key!r} is no longer in the policy")
        return Destination(
            "person", key, getattr(person, platform, None), str(person.email), person.name
        )
    if kind == "channel":
        channel = policy.channels.get(key)
        platform_id = getattr(channel, platform, None) if channel else None
        if platform_id is None:
            raise NothingToSend(f"channel {key!r} has no {platform} id in the policy")
        return Destination("channel", key, platform_id, None, key)
    return Destination("user", key, key)


@dataclass(frozen=True)
class Composed:
    """A post (`to`) or an update (`ref`) of `message`, ready for the port."""

    to: Destination | None
    ref: MessageRef | None
    message: OutgoingMessage


async def compose_all(
    conn: AsyncConnection, policy: Policy, rows: Sequence[tuple[str, str | None, Composable]]
) -> list[Composed | Exception]:
    """What to send for each (platform, request id, message); three queries at most.

    A row that cannot be composed gets its exception in its place (`NothingToSend` when what
    it points at is gone), so one bad row never holds up the page.
    """
    cards = {rid for _, rid, m in rows if rid and not isinstance(m, TextMessage)}
    notices = {rid for _, rid, m in rows if rid and isinstance(m, TextMessage)}
    # A notice's subject is a request or a review: looking for requests among them in the
    # read the cards need anyway spares a read of reviews when all of them are requests.
    states, requests = await _states(conn, cards, notices)
    copies: dict[int, Any] = {}
    if ids := sorted({m.chat_message_id for _, _, m in rows if isinstance(m, UpdateMessage)}):
        copies = {copy.id: copy for copy in await conn.execute(_COPIES, {"ids": ids})}
    reviews = await _reviews(conn, notices - requests)
    composed: list[Composed | Exception] = []
    for platform, request_id, message in rows:
        try:
            if isinstance(message, TextMessage):
                to = destination(policy, platform, message.to)
                review = reviews.get(request_id or "")
                composed.append(Composed(to, None, OutgoingMessage(message.text, review=review)))
                continue
            composed.append(_compose(policy, platform, request_id, message, states, copies))
        except Exception as error:
            composed.append(error)
    return composed


async def _states(
    conn: AsyncConnection, request_ids: set[str], others: set[str]
) -> tuple[dict[str, ApprovalRequest | Exception], set[str]]:
    """The states of `request_ids`, each read on its own terms (one that does not parse is
    its exception, not the page's), and which of `others` are requests (not parsed)."""
    if not request_ids and not others:
        return {}, set()
    states: dict[str, ApprovalRequest | Exception] = {}
    found: set[str] = set()
    for row in await conn.execute(_STATES, {"ids": sorted(request_ids | others)}):
        found.add(row.id)
        if row.id not in request_ids:
            continue
        try:
            states[row.id] = ApprovalRequest.model_validate_json(row.state)
        except ValueError as error:
            states[row.id] = error
    return states, found & others


async def _reviews(conn: AsyncConnection, subject_ids: set[str]) -> dict[str, RiskReview]:
    """The risk reviews among the subjects of notices, as they are now, so a platform can
    show a reminder as the review's card; a review that does not parse stays a notice."""
    if not subject_ids:
        return {}
    query = select(risk_reviews.c.id, risk_reviews.c.state).where(
        risk_reviews.c.id.in_(sorted(subject_ids))
    )
    found: dict[str, RiskReview] = {}
    for row in await conn.execute(query):
        try:
            found[row.id] = RiskReview.model_validate_json(row.state)
        except ValueError:
            continue
    return found


def _compose(
    policy: Policy,
    platform: str,
    request_id: str | None,
    message: Composable,
    states: Mapping[str, ApprovalRequest | Exception],
    copies: Mapping[int, Any],
) -> Composed:
    assert not isinstance(message, TextMessage)  # composed by `compose_all`, with its review
    state = states.get(request_id or "")
    if state is None:
        raise NothingToSend(f"request {request_id} does not exist")
    if isinstance(state, Exception):
        raise state
    if isinstance(message, CardMessage):
        address = message.to
        viewer = address.key if address.kind == "person" else None
        view = card_view(state, policy, message.audience, viewer)
        to = destination(policy, platform, address)
        return Composed(to, None, OutgoingMessage(text=view.title, card=view))
    copy = copies.get(message.chat_message_id)
    if copy is None:
        raise NothingToSend(f"card copy {message.chat_message_id} does not exist")
    view = card_view(state, policy, Audience(copy.audience), copy.person)
    return Composed(None, json.loads(copy.ref), OutgoingMessage(text=view.title, card=view))
