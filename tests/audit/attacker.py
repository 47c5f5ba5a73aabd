"""What an attacker who owns the database does: drop the triggers that refuse UPDATE and
DELETE of ledger rows and anchors, with plain SQL, then cut the tail or rewrite the chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import ledger_entries, ledger_head
from workflows.ledger import GENESIS_HASH, HASHED_FIELDS, compute_hash, stored_data

# Named here, not imported from the code under test: the attacker reads the schema.
_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER ledger_entries_no_update",
        "DROP TRIGGER ledger_entries_no_delete",
        "DROP TRIGGER ledger_anchors_no_update",
        "DROP TRIGGER ledger_anchors_no_delete",
    ],
    "postgresql": [
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
        "ALTER TABLE ledger_anchors DISABLE TRIGGER ledger_anchors_append_only",
    ],
}


async def lift_guards(conn: AsyncConnection) -> None:
    """Inside the caller's transaction: fails if a trigger is missing, so a test that uses
    it also shows the trigger was there."""
    for statement in _TRIGGERS[conn.dialect.name]:
        await conn.execute(text(statement))


async def rewrite_chain(
    conn: AsyncConnection, change: Callable[[list[dict[str, Any]]], None]
) -> None:
    """Edit the entries with `change`, then re-hash and re-link the whole chain and move the
    head, so the chain verifies on its own: the rewrite a hash chain alone cannot catch."""
    await lift_guards(conn)
    rows = [
        dict(row._mapping)
        for row in await conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq))
    ]
    for row in rows:
        row["data"] = json.loads(row["data"])
    change(rows)
    prev = GENESIS_HASH
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = compute_hash({name: row[name] for name in HASHED_FIELDS})
    await conn.execute(delete(ledger_entries))
    await conn.execute(
        insert(ledger_entries), [{**row, "data": stored_data(row["data"])} for row in rows]
    )
    await conn.execute(update(ledger_head).values(seq=rows[-1]["seq"], hash=prev))


async def cut_tail(conn: AsyncConnection, keep: int) -> None:
    """Delete every entry after seq `keep` and move the head back to it."""
    await lift_guards(conn)
    await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq > keep))
    kept = (
        await conn.execute(select(ledger_entries.c.hash).where(ledger_entries.c.seq == keep))
    ).scalar_one()
    await conn.execute(update(ledger_head).values(seq=keep, hash=kept))
