"""Incident rooms in the outbox: queue, deliver, wake, abandon and record; imports only ports.

The room is made once per platform whose port can make rooms under the policy. Each
invitation and each link to an Informed channel is a row of its own, so one that fails is
retried alone while the rest go ahead. Those rows sleep until the room's own row has made the
room and wakes them, so the order rows are claimed in does not matter; if the room cannot be
made, they are dead-lettered with the reason. Rows are found by their subject, the incident.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.port import ChatPort, MessageRef, PermanentFailure, RoomPort, RoomSpec
from bot.delivery.compose import destination
from bot.delivery.messages import (
    Address,
    InviteTask,
    OpenRoomTask,
    RoomLinkTask,
    RoomTask,
    RoomTextTask,
    TextMessage,
    outbox_row,
)
from bot.storage.incidents import record_room, room_of
from bot.storage.tables import outbox
from workflows.incidents import OpenRoom, PostInRoom
from workflows.policy import Policy

# Long enough that only the room's wake-up starts them; a room that never comes leaves them
# to be retried, and dead-lettered with age, like any message.
ROOM_WAIT = timedelta(hours=1)


class RoomNotReady(Exception):
    """The room is not made yet; the row waits until the room's own row wakes it."""


def room_platforms(policy: Policy, ports: Mapping[str, ChatPort]) -> list[str]:
    """The platforms whose port can make rooms under this policy."""
    return [
        name
        for name, port in ports.items()
        if isinstance(port, RoomPort) and port.opens_rooms(policy)
    ]


async def room_rows(
    conn: AsyncConnection,
    effects: Sequence[OpenRoom | PostInRoom],
    policy: Policy,
    ports: Mapping[str, ChatPort],
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows for an incident's room effects, on every platform that makes rooms."""
    rows: list[dict[str, Any]] = []
    # Rows that need a room not made yet sleep until the room's own row wakes them.
    asleep = now + ROOM_WAIT
    for platform in room_platforms(policy, ports):
        for effect in effects:
            room = f"{platform}:room:{effect.incident_id}"
            match effect:
                case OpenRoom(incident_id=incident):
                    task = OpenRoomTask(**effect.model_dump())
                    rows.append(outbox_row(platform, room, task, now))
                    for person in effect.members:
                        invite = InviteTask(incident_id=incident, to=_person(person))
                        key = f"{room}#invite-{person}"
                        rows.append(outbox_row(platform, key, invite, now, due=asleep))
                    for channel in effect.informed:
                        link = RoomLinkTask(
                            incident_id=incident, to=_channel(channel), text=effect.announcement
                        )
                        key = f"{platform}:channel:{channel}"
                        rows.append(outbox_row(platform, key, link, now, due=asleep))
                case PostInRoom(incident_id=incident, text=text, informed=informed):
                    post = RoomTextTask(incident_id=incident, text=text)
                    if await room_of(conn, incident, platform) is not None:
                        rows.append(outbox_row(platform, room, post, now))
                    elif await _room_coming(conn, incident, room):
                        rows.append(outbox_row(platform, room, post, now, due=asleep))
                    # else: the room could not be made; the Informed channels still hear it.
                    for channel in informed:
                        told = TextMessage(text=text, to=_channel(channel))
                        rows.append(
                            outbox_row(platform, f"{platform}:channel:{channel}", told, now)
                        )
    return rows


def _person(key: str) -> Address:
    return Address(kind="person", key=key)


def _channel(key: str) -> Address:
    return Address(kind="channel", key=key)


async def _room_coming(conn: AsyncConnection, incident_id: str, room_key: str) -> bool:
    """Whether the room's own row is still waiting to be delivered.

    Any pending row of the incident at the room's key will do: a post in the room is queued
    there only behind a room made or coming, and a room that cannot be made dead-letters
    everything waiting for it in the same transaction.
    """
    found = await conn.scalar(
        select(outbox.c.id)
        .where(
            outbox.c.subject_id == incident_id,
            outbox.c.destination_key == room_key,
            outbox.c.status == "pending",
        )
        .limit(1)
    )
    return found is not None


async def deliver_room_task(
    engine: AsyncEngine, port: ChatPort, policy: Policy, platform: str, task: RoomTask
) -> MessageRef | None:
    """Carry out one task; returns the room's reference when the task made the room."""
    if not isinstance(port, RoomPort):
        raise PermanentFailure(f"{platform} cannot make incident rooms")
    if isinstance(task, OpenRoomTask):
        owner = destination(policy, platform, _person(task.owner)) if task.owner else None
        spec = RoomSpec(task.name, task.private, task.topic, task.first_message, owner)
        return await port.open_room(spec)
    async with engine.connect() as conn:
        room = await room_of(conn, task.incident_id, platform)
    if room is None:
        raise RoomNotReady(f"the room of incident {task.incident_id} is not made yet")
    match task:
        case InviteTask(to=to):
            await port.invite(room, destination(policy, platform, to))
        case RoomLinkTask(to=to, text=text):
            await port.announce_room(destination(policy, platform, to), text, room)
        case RoomTextTask(text=text):
            await port.post_in_room(room, text)
    return None


async def room_made(
    conn: AsyncConnection, incident_id: str, platform: str, ref: MessageRef, now: datetime
) -> None:
    """The incident's room exists: remember it and make what waits for it due at once."""
    await record_room(conn, incident_id, platform, ref, now)
    await conn.execute(
        update(outbox).where(*_waiting_for(incident_id, platform)).values(next_attempt_at=now)
    )


async def room_exists(conn: AsyncConnection, incident_id: str, platform: str) -> bool:
    return await room_of(conn, incident_id, platform) is not None


async def abandon_room_tasks(
    conn: AsyncConnection, incident_id: str, platform: str, why: str
) -> None:
    """The room cannot be made: what was waiting for it is dead-lettered with the reason."""
    await conn.execute(
        update(outbox)
        .where(*_waiting_for(incident_id, platform))
        .values(status="dead", last_error=f"the incident's room was not made: {why}"[:2000])
    )


def _waiting_for(incident_id: str, platform: str) -> tuple[ColumnElement[bool], ...]:
    return (
        outbox.c.status == "pending",
        outbox.c.platform == platform,
        outbox.c.subject_id == incident_id,
    )
