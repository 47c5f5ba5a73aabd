"""Writes what one relay pass did to its rows: sent, retried, waiting or dead; no adapters.

Every function works in the caller's transaction, so a pass records all its rows in one
commit. `Attempt` is the result of trying one row, decided before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import MessageRef
from bot.delivery.rooms import abandon_room_tasks, wake_room_tasks
from bot.storage.incidents import record_room, room_of
from bot.storage.tables import chat_messages, outbox

DeadLetterHook = Callable[[AsyncConnection, Any, str, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Attempt:
    """What happened to one claimed row; `outcome` is sent, retry, wait or dead."""

    row: Any
    outcome: str
    message: dict[str, Any] | None = None
    ref: MessageRef | None = None  # where a new post landed
    next_at: datetime | None = None  # retry: when to try again
    counts: bool = True  # retry: whether this try counts towards the attempt limit
    reason: str = ""  # retry: the metric's label
    error: str = ""

    @property
    def report_field(self) -> str:
        """The `PassReport` field this attempt adds to."""
        return {"sent": "sent", "retry": "retried", "wait": "retried", "dead": "dead"}[self.outcome]


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
            update(outbox)
            .where(outbox.c.id == bindparam("row_id"))
            .values(status="sent", sent_at=now, attempts=bindparam("tries"), last_error=None),
            [{"row_id": a.row.id, "tries": a.row.attempts + 1} for a in sent],
        )
        if pace:
            paced = [{"key": a.row.destination_key, "not_before": now + pace} for a in sent]
            await conn.execute(_PACE, paced)
        cards = [_card_location(a, now) for a in sent if _is(a, "card") and a.ref is not None]
        if cards:
            await conn.execute(insert(chat_messages), cards)
        for attempt in sent:
            if _is(attempt, "room") and attempt.ref is not None:
                await _room_made(conn, attempt, now)
    for attempt in attempts:
        if attempt.outcome != "sent":
            await _mark_other(conn, attempt, now, wait, on_dead)


def _is(attempt: Attempt, kind: str) -> bool:
    return attempt.message is not None and attempt.message.get("kind") == kind


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
            assert attempt.message is not None
            await conn.execute(this_row.values(next_attempt_at=now + wait))
            if await room_of(conn, attempt.message["incident_id"], row.platform) is not None:
                await conn.execute(this_row.values(next_attempt_at=now))
        case "dead":
            await conn.execute(
                this_row.values(
                    status="dead", attempts=row.attempts + 1, last_error=attempt.error[:2000]
                )
            )
            if on_dead is not None:
                await on_dead(conn, row, attempt.error, now)
            if _is(attempt, "room"):
                assert attempt.message is not None
                await abandon_room_tasks(
                    conn, attempt.message["incident_id"], row.platform, attempt.error
                )


async def _room_made(conn: AsyncConnection, attempt: Attempt, now: datetime) -> None:
    """The incident's room exists: remember it and wake what waits for it."""
    assert attempt.message is not None and attempt.ref is not None
    incident, platform = attempt.message["incident_id"], attempt.row.platform
    await record_room(conn, incident, platform, attempt.ref, now)
    await wake_room_tasks(conn, incident, platform, now)


def _card_location(attempt: Attempt, now: datetime) -> dict[str, Any]:
    """Where a new card landed, so its later updates can find it."""
    row, message = attempt.row, attempt.message
    assert message is not None
    to = message["to"]
    return {
        "request_id": row.request_id,
        "platform": row.platform,
        "audience": message["audience"],
        "person": to["key"] if to["kind"] == "person" else None,
        "ref": json.dumps(attempt.ref, sort_keys=True),
        "outbox_id": row.id,
        "created_at": now,
    }


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


def decoded(row: Any) -> dict[str, Any] | None:
    """The row's message, or None when it is not a JSON object with a kind."""
    try:
        message = json.loads(row.message)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "kind" in message else None
