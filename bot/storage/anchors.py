"""The ledger's anchors: timestamp tokens stored with the (seq, hash) they cover, and the
head and entries an anchoring round reads; imports nothing above storage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import ledger_anchors, ledger_entries, ledger_head
from workflows.ledger import GENESIS_HASH

# The ledger action an anchoring round records; such entries alone never make a round due.
ANCHORED = "anchored"


@dataclass(frozen=True)
class Anchor:
    """One authority's token over one (seq, hash) of the chain."""

    seq: int
    hash: str
    tsa: str
    stamped_at: str
    token: bytes
    token_sha256: str
    created_at: datetime | None = None
    id: int | None = None


async def insert_anchors(conn: AsyncConnection, anchors: Sequence[Anchor], now: datetime) -> None:
    await conn.execute(
        insert(ledger_anchors),
        [
            {
                "seq": a.seq,
                "hash": a.hash,
                "tsa": a.tsa,
                "stamped_at": a.stamped_at,
                "token": a.token,
                "token_sha256": a.token_sha256,
                "created_at": now,
            }
            for a in anchors
        ],
    )


async def all_anchors(conn: AsyncConnection) -> list[Anchor]:
    """Every stored anchor, oldest seq first."""
    rows = await conn.execute(
        select(ledger_anchors).order_by(ledger_anchors.c.seq, ledger_anchors.c.id)
    )
    return [Anchor(**row._mapping) for row in rows]


async def newest_anchor(conn: AsyncConnection) -> Anchor | None:
    row = (
        await conn.execute(
            select(ledger_anchors)
            .order_by(ledger_anchors.c.seq.desc(), ledger_anchors.c.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else Anchor(**row._mapping)


async def newest_anchor_time(conn: AsyncConnection) -> datetime | None:
    """When the newest anchor was stored: what the anchor-age metric counts from."""
    found: datetime | None = await conn.scalar(select(func.max(ledger_anchors.c.created_at)))
    return found


async def head(conn: AsyncConnection) -> tuple[int, str]:
    row = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


async def entries_to_anchor(conn: AsyncConnection, after: int) -> bool:
    """Whether an entry past `after` records something other than an anchoring round."""
    query = select(
        exists().where(ledger_entries.c.seq > after, ledger_entries.c.action != ANCHORED)
    )
    return bool(await conn.scalar(query))


async def entry_hashes(conn: AsyncConnection, seqs: Sequence[int]) -> dict[int, str]:
    """The stored hash of each entry among `seqs` that the table still holds."""
    if not seqs:
        return {}
    rows = await conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.hash).where(
            ledger_entries.c.seq.in_(sorted(set(seqs)))
        )
    )
    return {row.seq: row.hash for row in rows}


async def anchored_entries(conn: AsyncConnection) -> list[tuple[int, dict[str, object]]]:
    """The ledger's own record of each anchoring round: (its seq, its data text parsed)."""
    rows = await conn.execute(
        select(ledger_entries.c.seq, ledger_entries.c.data)
        .where(ledger_entries.c.action == ANCHORED)
        .order_by(ledger_entries.c.seq)
    )
    return [(row.seq, json.loads(row.data)) for row in rows]


async def first_entry(conn: AsyncConnection) -> tuple[int, str] | None:
    """The oldest entry the table holds, (seq, prev_hash): after an archive, not seq 1."""
    row = (
        await conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.prev_hash)
            .order_by(ledger_entries.c.seq)
            .limit(1)
        )
    ).first()
    return None if row is None else (row.seq, row.prev_hash)
