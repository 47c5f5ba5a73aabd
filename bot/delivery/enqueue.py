"""Turns engine effects into outbox rows, one per platform that can reach the target.

Imports no adapters. A row names people and channels by policy id; the relay resolves them to
platform accounts at delivery time, so a reloaded policy is honoured by messages in flight.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import chat_messages, outbox
from workflows.effects import Effect, Notify, PostCard, RefreshCards, Target
from workflows.policy import Policy


def _person_platforms(policy: Policy, person: str, enabled: Sequence[str]) -> list[str]:
    """Platforms where the policy gives the person an id; all of them when it gives none."""
    entry = policy.people.get(person)
    if entry is None:
        return []
    hinted = [p for p in enabled if getattr(entry, p, None)]
    return hinted or list(enabled)


def _routes(policy: Policy, to: Target, enabled: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """(platform, address) pairs for a target."""
    if to.person is not None:
        address = {"kind": "person", "key": to.person}
        return [(p, address) for p in _person_platforms(policy, to.person, enabled)]
    if to.channel is not None:
        channel = policy.channels.get(to.channel)
        address = {"kind": "channel", "key": to.channel}
        return [(p, address) for p in enabled if channel and getattr(channel, p, None)]
    if to.actor is not None and to.actor.platform in enabled:
        return [(to.actor.platform, {"kind": "user", "key": to.actor.platform_user_id})]
    return []


def _destination_key(platform: str, address: dict[str, str]) -> str:
    return f"{platform}:{address['kind']}:{address['key']}"


async def enqueue_effects(
    conn: AsyncConnection,
    effects: Sequence[Effect],
    policy: Policy,
    enabled: Sequence[str],
    now: datetime,
) -> int:
    """Write the outbox rows for `effects` in the caller's transaction; returns how many."""
    rows: list[dict[str, Any]] = []

    def add(platform: str, key: str, request_id: str, message: dict[str, Any]) -> None:
        rows.append(
            {
                "platform": platform,
                "destination_key": key,
                "request_id": request_id,
                "message": json.dumps(message, sort_keys=True),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )

    refreshed = [e.request_id for e in effects if isinstance(e, RefreshCards)]
    copies = await _posted_copies(conn, refreshed) if refreshed else {}
    for effect in effects:
        match effect:
            case PostCard(request_id=rid, audience=audience, to=to):
                for platform, address in _routes(policy, to, enabled):
                    message = {"kind": "card", "audience": audience.value, "to": address}
                    add(platform, _destination_key(platform, address), rid, message)
            case Notify(request_id=rid, text=text, to=to):
                for platform, address in _routes(policy, to, enabled):
                    message = {"kind": "text", "text": text, "to": address}
                    add(platform, _destination_key(platform, address), rid, message)
            case RefreshCards(request_id=rid):
                for copy in copies.get(rid, []):
                    if copy["platform"] in enabled:
                        message = {"kind": "update", "chat_message_id": copy["id"]}
                        # Each card is its own queue: updates of one card stay in order, but
                        # cards of other requests in the same chat need not wait behind it.
                        # Platforms pace new messages per chat, not edits, and every update
                        # renders the request as it is now.
                        key = f"{copy['destination_key']}#card-{copy['id']}"
                        add(copy["platform"], key, rid, message)
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)


async def _posted_copies(
    conn: AsyncConnection, request_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every posted card of these requests, by request, in posting order (one query)."""
    query = (
        select(
            chat_messages.c.id,
            chat_messages.c.request_id,
            chat_messages.c.platform,
            outbox.c.destination_key,
        )
        .join(outbox, outbox.c.id == chat_messages.c.outbox_id)
        .where(chat_messages.c.request_id.in_(sorted(set(request_ids))))
        .order_by(chat_messages.c.id)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in await conn.execute(query):
        found.setdefault(row.request_id, []).append(dict(row._mapping))
    return found
