"""The outbox's subject column: rows queued before it existed are given theirs on upgrade."""

from __future__ import annotations

import json

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, text

from bot.storage.database import create_engine
from bot.storage.migrate import upgrade
from bot.storage.tables import UtcDateTime
from tests.harness import T0

# The outbox as revision 0005 left it, without the column this upgrade adds.
outbox_at_0005 = Table(
    "outbox",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16)),
    Column("destination_key", String(255)),
    Column("request_id", String(40)),
    Column("message", Text),
    Column("status", String(12)),
    Column("attempts", Integer),
    Column("next_attempt_at", UtcDateTime),
    Column("created_at", UtcDateTime),
)

ROWS = [
    # (destination key, request id, message)
    ("slack:person:mina", "R0000000000A1", {"kind": "card", "audience": "approver",
                                            "to": {"kind": "person", "key": "mina"}}),
    ("slack:room:I0000000000B2", None, {"kind": "room-text", "incident_id": "I0000000000B2",
                                        "text": "mitigated"}),
    ("slack:room:I0000000000B2#invite-dan", None, {"kind": "invite",
                                                   "incident_id": "I0000000000B2",
                                                   "to": {"kind": "person", "key": "dan"}}),
    ("slack:channel:ai-governance", None, {"kind": "text", "text": "mitigated",
                                           "to": {"kind": "channel", "key": "ai-governance"}}),
    ("slack:channel:ai-governance", None, "not even JSON"),
]  # fmt: skip


async def test_upgrade_gives_queued_rows_their_request_or_incident(
    empty_database_url: str,
) -> None:
    await upgrade(empty_database_url, "0005")
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(outbox_at_0005),
                [
                    {
                        "platform": "slack",
                        "destination_key": key,
                        "request_id": request_id,
                        "message": message if isinstance(message, str) else json.dumps(message),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": T0,
                        "created_at": T0,
                    }
                    for key, request_id, message in ROWS
                ],
            )
        await upgrade(empty_database_url)
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT subject_id FROM outbox ORDER BY id"))
            subjects = [row.subject_id for row in found]
    finally:
        await engine.dispose()
    # The card's request, the room tasks' incident; a plain text to a channel needs no room.
    assert subjects == ["R0000000000A1", "I0000000000B2", "I0000000000B2", None, None]
