"""Builds what the relay sends from an outbox row and current database state; no adapters' SDKs.

Cards are rendered from the request as it is now, never from the click that caused the
message, so sending the same update twice shows the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import Destination, MessageRef, OutgoingMessage
from bot.store import load_request
from bot.tables import chat_messages
from workflows.cards import card_view
from workflows.effects import Audience
from workflows.policy import Policy


class NothingToSend(Exception):
    """The row points at something that no longer exists; drop it."""


def destination(policy: Policy, platform: str, address: dict[str, str]) -> Destination:
    """A policy address (person, channel or platform user) as the adapter needs it."""
    kind, key = address["kind"], address["key"]
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


async def compose(
    conn: AsyncConnection,
    policy: Policy,
    platform: str,
    request_id: str | None,
    message: dict[str, Any],
) -> tuple[Destination | None, MessageRef | None, OutgoingMessage]:
    """(destination for a post, ref for an update, the message) for a decoded outbox row."""
    kind = message["kind"]
    if kind == "text":
        to = destination(policy, platform, message["to"])
        return to, None, OutgoingMessage(text=message["text"])
    state = await load_request(conn, request_id or "")
    if state is None:
        raise NothingToSend(f"request {request_id} does not exist")
    if kind == "card":
        address = message["to"]
        viewer = address["key"] if address["kind"] == "person" else None
        view = card_view(state, policy, Audience(message["audience"]), viewer)
        to = destination(policy, platform, address)
        return to, None, OutgoingMessage(text=view.title, card=view)
    copy = (
        await conn.execute(
            select(chat_messages.c.audience, chat_messages.c.person, chat_messages.c.ref).where(
                chat_messages.c.id == message["chat_message_id"]
            )
        )
    ).first()
    if copy is None:
        raise NothingToSend(f"card copy {message['chat_message_id']} does not exist")
    view = card_view(state, policy, Audience(copy.audience), copy.person)
    return None, json.loads(copy.ref), OutgoingMessage(text=view.title, card=view)
