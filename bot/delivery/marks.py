"""Writes what one relay pass did to its rows: sent, retried, waiting or dead; no adapters.

Every function works in the caller's transaction, so a pass records all its rows in one
commit. `Attempt` is the result of trying one row, decided before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import MessageRef
from bot.delivery.messages import CardMessage, Message, OpenRoomTask, RoomTask
from bot.delivery.rooms import abandon_room_tasks, room_exists, room_made
from bot.storage.tables import chat_messages, outbox

# A dead-lettered row, its message (None when it could not be read) and why it died; called
# in the transaction that records it, so what the hook records commits with it.
DeadLetterHook = Callable[
    [AsyncConnection, Row[Any], Message | None, str, datetime], Awaitable[None]
]
Outcome = Literal["sent", "retry", "wait", "dead"]


@dataclass(frozen=True)
class Attempt:
    """What happened to one claimed row."""

    row: Row[Any]
    outcome: Outcome
    message: Message | None = None  # None: the row's message could not be read
    ref: MessageRef | None = None  # where a new post landed
    next_at: datetime | None = None  # retry: when to try again
    counts: bool = True  # retry: whether this try counts towards the attempt limit
    reason: str = ""  # retry: the metric's label
    error: str = ""


async def mark_all(
    conn: AsyncConnection,
    attempts: Sequence[Attempt],
    now: datetime,
    *,
    pace: timedelta,
    wait: timedelta,
    on_dead: DeadLetterHook | None,
) -> None:
    """Record `attempts` (and what follows from them) in `conn`'s transaction.

    Sent rows, by far the most, take one statement each for all of them; the rest, rare,
    are written one by one.
    """
    sent = [a for a in attempts if a.outcome == "sent"]
    if sent:
        await conn.execute(
            _SENT, [{"row_id": a.row.id, "tries": a.row.attempts + 1, "at": now} for a in sent]
        )
        if pace:
            paced = [{"key": a.row.destination_key, "not_before": now + pace} for a in sent]
            await conn.execute(_PACE, paced)
        cards = [_card_location(a, now) for a in sent if _is_card(a)]
        if cards:
            await conn.execute(_CARDS, cards)
        for attempt in sent:
            if isinstance(attempt.message, OpenRoomTask) and attempt.ref is not None:
                incident = attempt.message.incident_id
                await room_made(conn, incident, attempt.row.platform, attempt.ref, now)
    for attempt in attempts:
        if attempt.outcome != "sent":
            await _mark_other(conn, attempt, now, wait, on_dead)


def _is_card(attempt: Attempt) -> bool:
    return isinstance(attempt.message, CardMessage) and attempt.ref is not None


async def _mark_other(
    conn: AsyncConnection,
    attempt: Attempt,
    now: datetime,
    wait: timedelta,
    on_dead: DeadLetterHook | None,
) -> None:
    """A retry, a wait for a room or a dead letter: rare, so one row at a time."""
    row = attempt.row
    this_row = update(outbox).where(outbox.c.id == row.id)
    match attempt.outcome:
        case "retry":
            attempts = row.attempts + 1 if attempt.counts else row.attempts
            await conn.execute(
                this_row.values(
                    next_attempt_at=attempt.next_at,
                    attempts=attempts,
                    last_error=attempt.error[:2000],
                )
            )
        case "wait":
            # The row's lock first, then the look: a room made since is seen now, or its wake
            # waits for this lock and comes after, so the row is never left asleep.
            assert isinstance(attempt.message, RoomTask)
            await conn.execute(this_row.values(next_attempt_at=now + wait))
            if await room_exists(conn, attempt.message.incident_id, row.platform):
                await conn.execute(this_row.values(next_attempt_at=now))
        case "dead":
            await conn.execute(
                this_row.values(
                    status="dead", attempts=row.attempts + 1, last_error=attempt.error[:2000]
                )
            )
            if on_dead is not None:
                await on_dead(conn, row, attempt.message, attempt.error, now)
            if isinstance(attempt.message, OpenRoomTask):
                incident = attempt.message.incident_id
                await abandon_room_tasks(conn, incident, row.platform, attempt.error)


def _card_location(attempt: Attempt, now: datetime) -> dict[str, Any]:
    """Where a new card landed, so its later updates can find it."""
    row, message = attempt.row, attempt.message
    assert isinstance(message, CardMessage)
    to = message.to
    return {
        "request_id": row.request_id,
        "platform": row.platform,
        "audience": message.audience.value,
        "person": to.key if to.kind == "person" else None,
        "ref": json.dumps(attempt.ref, sort_keys=True),
        "outbox_id": row.id,
        "created_at": now,
    }


# A pass's writes for its sent rows, built once.
_SENT = (
    update(outbox)
    .where(outbox.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("at"), attempts=bindparam("tries"), last_error=None)
)
_CARDS = insert(chat_messages)

# Holds a destination's next message until `not_before`. The bound time carries the column's
# type, so it is stored as every other time is.
_NOT_BEFORE = bindparam("not_before", type_=outbox.c.next_attempt_at.type)
_FOLLOWING = (
    select(func.min(outbox.c.id))
    .where(outbox.c.destination_key == bindparam("key"), outbox.c.status == "pending")
    .scalar_subquery()
)
_PACE = (
    update(outbox)
    .where(outbox.c.id == _FOLLOWING, outbox.c.next_attempt_at < _NOT_BEFORE)
    .values(next_attempt_at=_NOT_BEFORE)
)
