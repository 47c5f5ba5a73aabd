"""Turns incident effects into outbox rows: the room, its invitations, links and posts.

Imports no adapters. The room is made once per platform that can make rooms; each invitation
and each link to an Informed channel is a row of its own, so one that fails is retried alone
while the rest go ahead. Those rows wait, not due, until the room's row has made the room.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.incidents import room_of
from bot.storage.tables import outbox
from workflows.incidents import IncidentEffect, OpenRoom, PostInRoom
from workflows.policy import Policy

ROOM_KINDS = frozenset({"room", "invite", "room-link", "room-text"})
# Long enough that only the room's wake-up starts them; a room that never comes leaves them
# to be retried, and dead-lettered with age, like any message.
ROOM_WAIT = timedelta(hours=1)


def room_platforms(policy: Policy, enabled: Sequence[str]) -> list[str]:
    """Slack makes channels itself; Teams needs the policy's incident team."""
    return [p for p in enabled if p == "slack" or (p == "teams" and policy.incidents.teams_team_id)]


async def enqueue_incident_effects(
    conn: AsyncConnection,
    effects: Sequence[IncidentEffect],
    policy: Policy,
    enabled: Sequence[str],
    now: datetime,
) -> int:
    rows: list[dict[str, Any]] = []
    # Rows that need a room not made yet sleep until the room's own row wakes them.
    asleep = now + ROOM_WAIT

    def add(platform: str, key: str, message: dict[str, Any], due: datetime = now) -> None:
        rows.append(
            {
                "platform": platform,
                "destination_key": key,
                "request_id": None,
                "message": json.dumps(message, sort_keys=True),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": now,
            }
        )

    for platform in room_platforms(policy, enabled):
        for effect in effects:
            match effect:
                case OpenRoom(incident_id=incident):
                    room = f"{platform}:room:{incident}"
                    add(platform, room, {"kind": "room", **effect.model_dump(mode="json")})
                    for person in effect.members:
                        to = {"kind": "person", "key": person}
                        invite = {"kind": "invite", "incident_id": incident, "to": to}
                        add(platform, f"{room}#invite-{person}", invite, asleep)
                    for channel in effect.informed:
                        to = {"kind": "channel", "key": channel}
                        link = {"kind": "room-link", "incident_id": incident, "to": to,
                                "text": effect.announcement}  # fmt: skip
                        add(platform, f"{platform}:channel:{channel}", link, asleep)
                case PostInRoom(incident_id=incident, text=text, informed=informed):
                    message = {"kind": "room-text", "incident_id": incident, "text": text}
                    room = f"{platform}:room:{incident}"
                    if await room_of(conn, incident, platform) is not None:
                        add(platform, room, message)
                    elif await _room_coming(conn, room):
                        add(platform, room, message, asleep)
                    # else: the room could not be made; the Informed channels still hear it.
                    for channel in informed:
                        to = {"kind": "channel", "key": channel}
                        add(platform, f"{platform}:channel:{channel}",
                            {"kind": "text", "text": text, "to": to})  # fmt: skip
    if rows:
        await conn.execute(insert(outbox), rows)
    return len(rows)


async def _room_coming(conn: AsyncConnection, room_key: str) -> bool:
    """Whether the room's own row is still waiting to be delivered."""
    found = await conn.scalar(
        select(outbox.c.id).where(
            outbox.c.destination_key == room_key,
            outbox.c.status == "pending",
            outbox.c.message.contains('"kind": "room"'),
        )
    )
    return found is not None
