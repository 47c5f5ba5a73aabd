"""B3, the ledger: appends per second, and verification per second, from the database and
from memory.

Run by hand (it is not a test):

    .venv/bin/python -m bench.ledger                      # SQLite, 100,000 appends
    .venv/bin/python -m bench.ledger --database postgresql+asyncpg://postgres@127.0.0.1/bench

Appends go through `append_events` as the service makes them: one transaction per decision
with two entries (the baseline), and pages of 200 entries as a sweep makes them. The ledger is
then filled up to `--chain` entries (a million) and verified through `signoff audit verify`'s
code, walked in this process and then by one process per CPU as the command does; the
same number of entries built in memory measures the hashing alone (target: 200,000 entries a
second).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from bench.local import database_with_schema
from bot.audit.verify import available_cpus, verify_database
from bot.storage.database import create_engine
from bot.storage.ledger import append_events
from bot.storage.tables import ledger_entries, ledger_head
from workflows.chain import ChainVerifier
from workflows.ledger import GENESIS_HASH, AuditEvent, seal, stored_data
from workflows.model import Actor

FILL_PAGE = 20_000
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")


def event(n: int) -> AuditEvent:
    return AuditEvent(
        action="approved",
        subject_type="request",
        subject_id=f"R{n:012d}",
        actor=ACTOR,
        data={"approvers": ["mina"], "tally": "1 of 1 approvals"},
    )


async def append(url: str, total: int, per_transaction: int) -> float:
    """Entries per second when `per_transaction` entries commit together."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        for start in range(0, total, per_transaction):
            async with engine.begin() as conn:
                events = [event(n) for n in range(start, min(start + per_transaction, total))]
                await append_events(conn, events, T0, "bench")
        return total / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def verify(url: str, workers: int | None) -> tuple[int, float]:
    """Entries per second through `signoff audit verify`'s code, with its default of one
    process per CPU (this one included), or `workers` of them (1: this process alone)."""
    engine = create_engine(url, reader=True)
    try:
        started = time.perf_counter()
        result = await verify_database(engine, workers)
        assert result.ok, result
        return result.checked, result.checked / (time.perf_counter() - started)
    finally:
        await engine.dispose()


async def fill(url: str, entries: int) -> None:
    """Top the ledger up to `entries` sealed entries after its head: hashed in memory and
    written 20,000 a transaction, far faster than appending them one decision at a time."""
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        async with engine.connect() as conn:
            head = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
        seq, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        first = seq
        while seq < entries:
            rows = []
            for _ in range(min(FILL_PAGE, entries - seq)):
                seq += 1
                entry = seal(seq, T0, event(seq), "bench", prev)
                prev = entry.hash
                rows.append({**entry.model_dump(exclude={"data"}), "data": stored_data(entry.data)})
            async with engine.begin() as conn:
                await conn.execute(insert(ledger_entries), rows)
                await conn.execute(
                    update(ledger_head).where(ledger_head.c.id == 1).values(seq=seq, hash=prev)
                )
            print(f"  ledger filled to {seq:,} entries", file=sys.stderr)
    finally:
        await engine.dispose()
    took = time.perf_counter() - started
    print(f"added {seq - first:,} entries in {took:.0f} s", file=sys.stderr)


def verify_in_memory(total: int) -> float:
    prev, entries = GENESIS_HASH, []
    for n in range(total):
        entry = seal(n + 1, T0, event(n), "bench", prev)
        prev = entry.hash
        entries.append(entry)
    verifier = ChainVerifier()
    started = time.perf_counter()
    for entry in entries:
        verifier.feed(entry)
    seconds = time.perf_counter() - started
    assert verifier.result().ok
    return total / seconds


async def main(database: str | None, appends: int, chain: int) -> int:
    url = await database_with_schema(database)
    baseline_count = max(appends // 10, 1)
    print(f"appending {baseline_count:,} entries two per transaction", file=sys.stderr)
    per_decision = await append(url, baseline_count, 2)
    print(f"appending {appends:,} entries 200 per transaction", file=sys.stderr)
    paged = await append(url, appends, 200)
    print(f"filling the ledger up to {chain:,} entries to verify them", file=sys.stderr)
    await fill(url, chain)
    checked, alone = await verify(url, 1)
    _, from_database = await verify(url, None)
    print(f"building a chain of {chain:,} entries in memory", file=sys.stderr)
    in_memory = verify_in_memory(chain)
    dialect = url.split(":", 1)[0]
    print(f"B3 ledger on {dialect}")
    print(f"  append, 2 entries per transaction (baseline): {per_decision:>10,.0f} entries/s")
    print(f"  append, 200 entries per transaction:          {paged:>10,.0f} entries/s")
    print(f"  ratio paged / baseline: {paged / per_decision:.1f}x")
    workers = f"{available_cpus()} processes"
    print(f"  verify {checked:,} from the database, this process: {alone:>10,.0f} entries/s")
    print(f"  verify {checked:,} from the database, {workers}: {from_database:>10,.0f} entries/s")
    print(f"  verify {chain:,} in memory:                        {in_memory:>10,.0f} entries/s")
    for where, rate in (("in memory", in_memory), ("from the database", from_database)):
        verdict = "meets" if rate >= 200_000 else "misses"
        print(f"  target: verify at least 200,000 entries/s {where}: {verdict}")
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--appends", type=int, default=100_000)
    parser.add_argument("--chain", type=int, default=1_000_000)
    args = parser.parse_args()
    return asyncio.run(main(args.database, args.appends, args.chain))


if __name__ == "__main__":
    sys.exit(cli())
