"""Delivers an incident's room tasks through a platform's `RoomPort`; imports only the port.

The room is made first; an invitation, a link or a post that finds no room yet waits, and the
room's own row wakes it once the room exists, so the order the rows are claimed in does not
matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.port import (
    ChatPort,
    MessageRef,
    PermanentFailure,
    RoomPort,
    RoomSpec,
)
from bot.delivery.compose import destination
from bot.storage.incidents import room_of
from bot.storage.tables import outbox
from workflows.policy import Policy


class RoomNotReady(Exception):
    """The room is not made yet; the row waits until the room's own row wakes it."""


async def wake_room_tasks(
    conn: AsyncConnection, incident_id: str, platform: str, now: datetime
) -> None:
    """The room exists now: its waiting invitations, links and posts are due at once."""
    await conn.execute(
        update(outbox).where(*_waiting_for(incident_id, platform)).values(next_attempt_at=now)
    )


async def abandon_room_tasks(
    conn: AsyncConnection, incident_id: str, platform: str, why: str
) -> None:
    """The room cannot be made: what was waiting for it is dead-lettered with the reason."""
    await conn.execute(
        update(outbox)
        .where(*_waiting_for(incident_id, platform))
        .values(status="dead", last_error=f"the incident's room was not made: {why}"[:2000])
    )


def _waiting_for(incident_id: str, platform: str) -> tuple[Any, ...]:
    return (
        outbox.c.status == "pending",
        outbox.c.platform == platform,
        outbox.c.message.contains(f'"incident_id": "{incident_id}"'),
    )


async def deliver_room_task(
    engine: AsyncEngine, port: ChatPort, policy: Policy, platform: str, task: dict[str, Any]
) -> MessageRef | None:
    """Carry out one task; returns the room's reference when the task made the room."""
    if not isinstance(port, RoomPort):
        raise PermanentFailure(f"{platform} cannot make incident rooms")
    kind = task["kind"]
    if kind == "room":
        owner = task.get("owner")
        spec = RoomSpec(
            task["name"],
            task["private"],
            task["topic"],
            task["first_message"],
            destination(policy, platform, {"kind": "person", "key": owner}) if owner else None,
        )
        return await port.open_room(spec)
    async with engine.connect() as conn:
        room = await room_of(conn, task["incident_id"], platform)
    if room is None:
        raise RoomNotReady(f"the room of incident {task['incident_id']} is not made yet")
    if kind == "invite":
        await port.invite(room, destination(policy, platform, task["to"]))
    elif kind == "room-link":
        await port.announce_room(destination(policy, platform, task["to"]), task["text"], room)
    else:
        await port.post_in_room(room, task["text"])
    return None
