"""What an attacker who owns the database does before rewriting history: drop the triggers
that refuse UPDATE and DELETE of ledger rows and anchors, with plain SQL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

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
