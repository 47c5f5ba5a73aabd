"""Incidents and their rooms in the database; imports no adapters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import incident_rooms, incidents
from workflows.incidents import Incident, IncidentStatus


async def lock_system(conn: AsyncConnection, system: str) -> None:
    """Take turns, per system, between opening an incident and opening a deploy request.

    Without it, a request whose transaction read "no incident" just before one committed
    would be created unfrozen. SQLite runs one writer at a time already; PostgreSQL takes a
    transaction-scoped advisory lock on the system's name.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"incident:{system}"}
        )


async def load_incident(
    conn: AsyncConnection, incident_id: str, *, for_update: bool = False
) -> Incident | None:
    query = select(incidents.c.state).where(incidents.c.id == incident_id)
    if for_update:
        query = query.with_for_update()
    raw = (await conn.execute(query)).scalar_one_or_none()
    return None if raw is None else Incident.model_validate_json(raw)


async def open_incident_of(conn: AsyncConnection, system: str) -> Incident | None:
    query = select(incidents.c.state).where(incidents.c.open_system == system)
    raw = (await conn.execute(query)).scalar_one_or_none()
    return None if raw is None else Incident.model_validate_json(raw)


async def incidents_on_day(conn: AsyncConnection, system: str, day_start: datetime) -> int:
    """How many incidents the system had on the day starting at `day_start` (UTC)."""
    count = await conn.scalar(
        select(func.count())
        .select_from(incidents)
        .where(
            incidents.c.system == system,
            incidents.c.opened_at >= day_start,
            incidents.c.opened_at < day_start + timedelta(days=1),
        )
    )
    return int(count or 0)


async def save_incident(
    conn: AsyncConnection, old: Incident | None, new: Incident, now: datetime
) -> None:
    """Insert or update; a second open incident on a system breaks the unique constraint."""
    row = {
        "system": new.system,
        "open_system": new.system if new.status is IncidentStatus.OPEN else None,
        "status": new.status.value,
        "state": new.model_dump_json(),
        "opened_at": new.opened_at,
        "updated_at": now,
    }
    if old is None:
        await conn.execute(insert(incidents).values(id=new.id, **row))
    else:
        await conn.execute(update(incidents).where(incidents.c.id == new.id).values(**row))


async def record_room(
    conn: AsyncConnection, incident_id: str, platform: str, ref: dict[str, str], now: datetime
) -> None:
    await conn.execute(
        insert(incident_rooms).values(
            incident_id=incident_id, platform=platform, ref=json.dumps(ref), created_at=now
        )
    )


async def room_of(conn: AsyncConnection, incident_id: str, platform: str) -> dict[str, str] | None:
    raw = await conn.scalar(
        select(incident_rooms.c.ref).where(
            incident_rooms.c.incident_id == incident_id, incident_rooms.c.platform == platform
        )
    )
    return None if raw is None else dict(json.loads(raw))
