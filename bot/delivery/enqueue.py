"""Turns engine effects into outbox rows, one per platform that can reach the target.

Imports only the ports from adapters. A row names people and channels by policy id; the relay
resolves them to platform accounts at delivery time, so a reloaded policy is honoured by
messages in flight. An incident's room effects become rows in `rooms`; the effects a service
carries out itself (freezing requests, moving a review) are not messages and are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import ChatPort
from bot.delivery.github import gate_rows
from bot.delivery.messages import (
    Address,
    CardMessage,
    Composable,
    TextMessage,
    UpdateMessage,
    outbox_row,
)
from bot.delivery.reads import TransactionReads
from bot.delivery.rooms import room_rows
from bot.storage.tables import outbox
from workflows.effects import Effect, Notify, PostCard, RefreshCards, Target
from workflows.incidents import IncidentEffect, OpenRoom, PostInRoom
from workflows.policy import Policy


async def enqueue(
    conn: AsyncConnection,
    effects: Sequence[Effect | IncidentEffect],
    policy: Policy,
    ports: Mapping[str, ChatPort],
    now: datetime,
    reads: TransactionReads | None = None,
) -> int:
    """Write the outbox rows for `effects` in the caller's transaction; returns how many.
    `reads` answers what the transaction has read already."""
    reads = reads or TransactionReads(conn)
    plain = [e for e in effects if isinstance(e, PostCard | Notify | RefreshCards)]
    rows = await _request_rows(reads, plain, policy, list(ports), now)
    # A run waiting on the GitHub gate hears of every change to its request (new cards mean
    # it opened or escalated; refreshed cards, a vote or the decision).
    changed = {e.request_id for e in plain if isinstance(e, PostCard | RefreshCards)}
    if changed:
        rows += await gate_rows(conn, sorted(changed), policy, now, reads)
    rooms = [e for e in effects if isinstance(e, OpenRoom | PostInRoom)]
    if rooms:
        rows += await room_rows(conn, rooms, policy, ports, now)
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)


def _person_platforms(policy: Policy, person: str, enabled: Sequence[str]) -> list[str]:
    """Platforms where the policy gives the person an id; all of them when it gives none."""
    entry = policy.people.get(person)
    if entry is None:
        return []
    hinted = [p for p in enabled if getattr(entry, p, None)]
    return hinted or list(enabled)


def _routes(policy: Policy, to: Target, enabled: Sequence[str]) -> list[tuple[str, Address]]:
    """(platform, address) pairs for a target."""
    if to.person is not None:
        address = Address(kind="person", key=to.person)
        return [(p, address) for p in _person_platforms(policy, to.person, enabled)]
    if to.channel is not None:
        channel = policy.channels.get(to.channel)
        address = Address(kind="channel", key=to.channel)
        return [(p, address) for p in enabled if channel and getattr(channel, p, None)]
    if to.actor is not None and to.actor.platform in enabled:
        return [(to.actor.platform, Address(kind="user", key=to.actor.platform_user_id))]
    return []


def _destination_key(platform: str, address: Address) -> str:
    return f"{platform}:{address.kind}:{address.key}"


async def _request_rows(
    reads: TransactionReads,
    effects: Sequence[Effect],
    policy: Policy,
    enabled: Sequence[str],
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows of a request's cards, notices and card updates."""
    rows: list[dict[str, Any]] = []

    def add(platform: str, key: str, request_id: str, message: Composable) -> None:
        rows.append(outbox_row(platform, key, message, now, request_id=request_id))

    refreshed = [e.request_id for e in effects if isinstance(e, RefreshCards)]
    copies = await reads.posted_cards(refreshed) if refreshed else {}
    for effect in effects:
        match effect:
            case PostCard(request_id=rid, audience=audience, to=to):
                for platform, address in _routes(policy, to, enabled):
                    card = CardMessage(audience=audience, to=address)
                    add(platform, _destination_key(platform, address), rid, card)
            case Notify(request_id=rid, text=text, to=to):
                for platform, address in _routes(policy, to, enabled):
                    notice = TextMessage(text=text, to=address)
                    add(platform, _destination_key(platform, address), rid, notice)
            case RefreshCards(request_id=rid):
                for copy in copies.get(rid, []):
                    if copy.platform in enabled and copy.destination_key is not None:
                        update = UpdateMessage(chat_message_id=copy.id)
                        # Each card is its own queue: updates of one card stay in order, but
                        # cards of other requests in the same chat need not wait behind it.
                        # Platforms pace new messages per chat, not edits, and every update
                        # renders the request as it is now.
                        key = f"{copy.destination_key}#card-{copy.id}"
                        add(copy.platform, key, rid, update)
    return rows
