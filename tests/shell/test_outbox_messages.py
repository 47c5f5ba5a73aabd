"""Outbox messages as types: rooms by the port's ability, rows found by their subject (issue 14).

The harness names its plain `FakeChat` "slack"; a `FakeRoomChat` stands for a platform that
can make rooms under another name, so the platform's name decides nothing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.ids import new_incident_id
from bot.storage.tables import outbox
from tests.fake_chat import FakeRoomChat
from tests.harness import Harness, Policies, actor, build_policy
from workflows.incidents import StartIncident

ROOM = "inc-20261102-credit-scoring-1"


def _with_teams_channel(raw: dict[str, Any]) -> None:
    raw["channels"]["ai-governance"]["teams"] = "19:governance@thread.tacv2"


def _world(engine: AsyncEngine) -> tuple[Harness, FakeRoomChat]:
    # No incident team in the policy: a platform that needs one to make rooms could not.
    rooms = FakeRoomChat(platform="teams")
    policies = Policies.of(build_policy(_with_teams_channel))
    return Harness(engine, policies=policies, more_ports={"teams": rooms}), rooms


async def _open_incident(h: Harness) -> str:
    incident = new_incident_id()
    start = StartIncident(
        incident_id=incident,
        number=0,
        actor=actor("soo"),
        system="credit-scoring",
        severity="sev2",
        summary="scores drift after retrain",
    )
    assert (await h.incidents.handle(start)).ok
    return incident


async def _rows_of(h: Harness, incident: str) -> list[Any]:
    async with h.engine.connect() as conn:
        query = select(outbox).where(outbox.c.subject_id == incident).order_by(outbox.c.id)
        return list((await conn.execute(query)).all())


async def test_incident_rooms_go_to_the_platforms_whose_port_can_make_them(
    engine: AsyncEngine,
) -> None:
    h, rooms = _world(engine)
    incident = await _open_incident(h)
    await h.relay.drain()
    rows = await _rows_of(h, incident)
    # The plain chat called "slack" is given no room to fail at making.
    assert {row.platform for row in rows} == {"teams"}
    assert await h.outbox_count("dead") == 0
    assert list(rooms.rooms) == [ROOM]
    assert set(rooms.members[ROOM]) == {"soo", "mina", "jae", "lee", "dan"}
    (link,) = rooms.posts_to("19:governance@thread.tacv2")
    assert f"#{ROOM}" in link.message.text


async def test_a_rooms_waiting_tasks_are_found_by_their_incident_however_written(
    engine: AsyncEngine,
) -> None:
    h, rooms = _world(engine)
    incident = await _open_incident(h)
    waiting = [row for row in await _rows_of(h, incident) if row.next_attempt_at > h.clock()]
    assert {json.loads(row.message)["kind"] for row in waiting} == {"invite", "room-link"}
    async with h.engine.begin() as conn:
        for row in waiting:  # the same messages, written without spaces
            compact = json.dumps(json.loads(row.message), separators=(",", ":"))
            await conn.execute(update(outbox).where(outbox.c.id == row.id).values(message=compact))
    # The room's row makes the room and wakes its tasks; no hour passes.
    await h.relay.drain()
    assert set(rooms.members[ROOM]) == {"soo", "mina", "jae", "lee", "dan"}
    assert len(rooms.posts_to("19:governance@thread.tacv2")) == 1
    assert await h.outbox_count("pending") == 0


async def test_a_message_of_no_known_kind_is_not_sent_and_says_why(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.open("soo", system="doc-search")
    async with h.engine.begin() as conn:
        first = await conn.scalar(select(outbox.c.id).order_by(outbox.c.id).limit(1))
        await conn.execute(
            update(outbox)
            .where(outbox.c.id == first)
            .values(message='{"kind": "carrier-pigeon", "to": {"kind": "person", "key": "mina"}}')
        )
    report = await h.relay.drain()
    async with h.engine.connect() as conn:
        row = (await conn.execute(select(outbox).where(outbox.c.id == first))).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("ValidationError") and "carrier-pigeon" in row.last_error
    assert report.sent == 2 and report.retried == 1  # the other approvers' cards went out
