"""Appends audit events to the ledger inside the caller's transaction; imports no adapters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.tables import ledger_entries, ledger_head
from workflows.ledger import GENESIS_HASH, AuditEvent, LedgerEntry, seal


async def append_events(
    conn: AsyncConnection, events: Sequence[AuditEvent], at: datetime, policy_digest: str
) -> list[LedgerEntry]:
    """Seal and insert `events` after the current head, in the caller's transaction.

    The head row is locked first, so concurrent appenders queue and `seq` stays gap-free; the
    entries commit or roll back with the change they record.
    """
    if not events:
        return []
    head = (
        await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash).with_for_update())
    ).first()
    if head is None:
        seq, prev = 0, GENESIS_HASH
        await conn.execute(insert(ledger_head).values(id=1, seq=0, hash=GENESIS_HASH))
    else:
        seq, prev = head.seq, head.hash
    sealed: list[LedgerEntry] = []
    for ledger_event in events:
        seq += 1
        entry = seal(seq, at, ledger_event, policy_digest, prev)
        prev = entry.hash
        sealed.append(entry)
    await conn.execute(
        insert(ledger_entries),
        [{**e.model_dump(exclude={"data"}), "data": json.dumps(e.data)} for e in sealed],
    )
    await conn.execute(update(ledger_head).where(ledger_head.c.id == 1).values(seq=seq, hash=prev))
    return sealed


def row_to_entry(row: object) -> LedgerEntry:
    """A `ledger_entries` row as a LedgerEntry (its `data` column holds JSON text)."""
    fields = dict(row._mapping)  # type: ignore[attr-defined]
    fields["data"] = json.loads(fields["data"])
    return LedgerEntry(**fields)
