"""Writes what one relay pass did to its rows: sent, retried, waiting or dead; no adapters.

Every function works in the caller's transaction, so a pass records all its rows in one
commit. `Attempt` is the result of trying one row, decided before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.port import MessageRef
from bot.incident_store import record_room, room_of
from bot.room_delivery import abandon_room_tasks, wake_room_tasks
from bot.store import record_card_location
from bot.tables import outbox

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


async def mark(
    conn: AsyncConnection,
    attempt: Attempt,
    now: datetime,
    *,
    pace: timedelta,
    wait: timedelta,
    on_dead: DeadLetterHook | None,
) -> None:
    """Record `attempt` on its row (and what follows from it) in `conn`'s transaction."""
    row = attempt.row
    this_row = update(outbox).where(outbox.c.id == row.id)
    match attempt.outcome:
        case "sent":
            await conn.execute(
                this_row.values(
                    status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None
                )
            )
            if pace:
                await _pace(conn, row.destination_key, now + pace)
            await _remember_where(conn, attempt, now)
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
            if attempt.message is not None and attempt.message.get("kind") == "room":
                await abandon_room_tasks(
                    conn, attempt.message["incident_id"], row.platform, attempt.error
                )


async def _remember_where(conn: AsyncConnection, attempt: Attempt, now: datetime) -> None:
    """A new room or card: where it landed, so later rows can use or update it."""
    row, message, ref = attempt.row, attempt.message, attempt.ref
    if ref is None or message is None:
        return
    if message["kind"] == "room":
        await record_room(conn, message["incident_id"], row.platform, ref, now)
        await wake_room_tasks(conn, message["incident_id"], row.platform, now)
    elif message["kind"] == "card":
        to = message["to"]
        await record_card_location(
            conn,
            request_id=row.request_id,
            platform=row.platform,
            audience=message["audience"],
            person=to["key"] if to["kind"] == "person" else None,
            ref=ref,
            outbox_id=row.id,
            now=now,
        )


async def _pace(conn: AsyncConnection, destination: str, not_before: datetime) -> None:
    """Hold the destination's next message until `not_before`."""
    following = (
        select(func.min(outbox.c.id))
        .where(outbox.c.destination_key == destination, outbox.c.status == "pending")
        .scalar_subquery()
    )
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == following, outbox.c.next_attempt_at < not_before)
        .values(next_attempt_at=not_before)
    )


def decoded(row: Any) -> dict[str, Any] | None:
    """The row's message, or None when it is not a JSON object with a kind."""
    try:
        message = json.loads(row.message)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "kind" in message else None
