"""B3's second half: B1's click latency with an empty ledger and with a long one.

Run by hand (it is not a test):

    .venv/bin/python -m bench.ledger_clicks                       # SQLite, 1,000,000 entries
    .venv/bin/python -m bench.ledger_clicks --database-a URL --database-b URL   # PostgreSQL

Both runs use a new database; the second is first filled with `--entries` sealed ledger
entries (hashed in memory, written in bulk), then, after a warm-up run, both get the same B1
runs: at concurrency 10 (saturated, where the p50 is mostly queueing) and at a steady 50
clicks a second. An append locks and reads only the head row, so the ratios show whether a
click's cost grows with history (target: under 1.2).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, replace

from bench.clicks import measure
from bench.ledger import fill
from bench.load import Run, print_runs
from bench.local import database_with_schema
from bot.runtime import Mount


@dataclass(frozen=True)
class BySize:
    """The two databases and the four runs: each ledger at concurrency 10 and at 50/s."""

    empty: str
    full: str
    busy_empty: Run
    busy_full: Run
    steady_empty: Run
    steady_full: Run


async def by_ledger_size(
    a: str | None, b: str | None, entries: int, requests: int, mounts: tuple[Mount, ...] = ()
) -> BySize:
    """B1's runs on an empty ledger and on one first filled with `entries`, after a warm-up;
    `mounts` adds parts of `serve` to both."""
    empty = await database_with_schema(a)
    full = await database_with_schema(b)
    await fill(full, entries)
    # A short run first, on a throwaway database, so neither measured run pays for warming
    # up the process.
    print("warming up", file=sys.stderr)
    await measure(await database_with_schema(None), 50, 10)
    _, busy_empty, steady_empty = await measure(empty, requests, 10, mounts)
    _, busy_full, steady_full = await measure(full, requests, 10, mounts)
    return BySize(empty, full, busy_empty, busy_full, steady_empty, steady_full)


def report(title: str, entries: int, found: BySize) -> None:
    """The four runs and the p50 ratios long / empty."""
    long = f"{entries:,} entries"
    print_runs(
        title,
        [
            replace(found.busy_empty, name="empty ledger, concurrency 10"),
            replace(found.busy_full, name=f"{long}, concurrency 10"),
            replace(found.steady_empty, name="empty ledger, 50 clicks/s"),
            replace(found.steady_full, name=f"{long}, 50 clicks/s"),
        ],
    )
    for load, on_empty, on_full in (
        ("concurrency 10", found.busy_empty, found.busy_full),
        ("50 clicks/s", found.steady_empty, found.steady_full),
    ):
        ratio = on_full.percentile(0.5) / on_empty.percentile(0.5)
        print(f"  p50 ratio long / empty at {load}: {ratio:.2f} (target under 1.2)")


async def main(a: str | None, b: str | None, entries: int, requests: int) -> int:
    found = await by_ledger_size(a, b, entries, requests)
    report(f"B3 click latency by ledger size on {found.empty.split(':', 1)[0]}", entries, found)
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-a", help="empty-ledger database (default: new SQLite)")
    parser.add_argument("--database-b", help="long-ledger database (default: new SQLite)")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="approvals per run")
    args = parser.parse_args()
    return asyncio.run(main(args.database_a, args.database_b, args.entries, args.requests))


if __name__ == "__main__":
    sys.exit(cli())
