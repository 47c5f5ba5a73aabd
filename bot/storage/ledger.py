"""The ledger's rows: appended inside the caller's transaction, read back in `seq` order;
imports no adapters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.database import driver_rows
from bot.storage.tables import ledger_entries, ledger_head
from workflows.ledger import GENESIS_HASH, AuditEvent, LedgerEntry, format_time, seal, stored_data

# An append's statements, built once (every decision makes one).
_HEAD = select(ledger_head.c.seq, ledger_head.c.hash).with_for_update()
_NEW_HEAD = insert(ledger_head)
_ENTRIES = insert(ledger_entries)
_MOVE_HEAD = (
    update(ledger_head)
    .where(ledger_head.c.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


async def append_events(
    conn: AsyncConnection, events: Sequence[AuditEvent], at: datetime, policy_digest: str
) -> list[LedgerEntry]:
    """Seal and insert `events` after the current head, in the caller's transaction.

    The head row is locked first, so concurrent appenders queue and `seq` stays gap-free; the
    entries commit or roll back with the change they record.
    """
    if not events:
        return []
    head = (await conn.execute(_HEAD)).first()
    if head is None:
        seq, prev = 0, GENESIS_HASH
        await conn.execute(_NEW_HEAD, {"id": 1, "seq": 0, "hash": GENESIS_HASH})
    else:
        seq, prev = head.seq, head.hash
    sealed: list[LedgerEntry] = []
    for ledger_event in events:
        seq += 1
        entry = seal(seq, at, ledger_event, policy_digest, prev)
        prev = entry.hash
        sealed.append(entry)
    await conn.execute(
        _ENTRIES, [{**e.model_dump(exclude={"data"}), "data": stored_data(e.data)} for e in sealed]
    )
    await conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return sealed


def row_to_entry(row: object) -> LedgerEntry:
    """A `ledger_entries` row as a LedgerEntry (its `data` column holds JSON text)."""
    fields = dict(row._mapping)  # type: ignore[attr-defined]
    fields["data"] = json.loads(fields["data"])
    return LedgerEntry(**fields)


BATCH = 5_000


async def ledger_rows(
    engine: AsyncEngine,
    columns: Iterable[ColumnElement[Any]],
    since: datetime | None = None,
    after: int = 0,
    upto: int | None = None,
    from_driver: bool = False,
) -> AsyncGenerator[Sequence[Any], None]:
    """Rows with `seq` past `after` (and up to `upto`) in `seq` order, a batch at a time, each
    batch its own short read, so a long ledger never sits in memory or holds a snapshot.
    `columns` must include `seq`; `from_driver` yields the driver's own tuples or records,
    which cost half of what SQLAlchemy's rows do."""
    columns = list(columns)
    seq_at = [getattr(column, "name", None) for column in columns].index("seq")

    async def fetch(last: int) -> Sequence[Any]:
        query = select(*columns).where(ledger_entries.c.seq > last)
        if upto is not None:
            query = query.where(ledger_entries.c.seq <= upto)
        if since is not None:
            query = query.where(ledger_entries.c.at >= format_time(since))
        query = query.order_by(ledger_entries.c.seq).limit(BATCH)
        async with engine.connect() as conn:
            if from_driver:
                return await driver_rows(conn, query)
            return (await conn.execute(query)).all()

    # The next batch is read while the caller works through this one.
    reading = asyncio.ensure_future(fetch(after))
    try:
        while True:
            rows = await reading
            if len(rows) == BATCH:
                reading = asyncio.ensure_future(fetch(rows[-1][seq_at]))
            yield rows
            if len(rows) < BATCH:
                return
    finally:
        reading.cancel()
