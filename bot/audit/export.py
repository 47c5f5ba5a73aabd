"""Operator tools for the ledger: verify the database or an export, export JSONL or CSV.

Imports no adapters. Exports carry every hashed field, so an auditor can re-verify the chain
from the file alone with `signoff audit verify --file`.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.verify import verify_database
from bot.storage.database import create_engine
from bot.storage.ledger import ledger_rows, row_to_entry
from bot.storage.tables import ledger_entries
from workflows.chain import Verification, verify_chain
from workflows.ledger import GENESIS_HASH, LedgerEntry, canonical_json, parse_time

PROGRESS_EVERY = 10_000
FIELDS = list(LedgerEntry.model_fields)
CSV_COLUMNS = [*FIELDS, "note"]
# Cells a spreadsheet would run as a formula (OWASP ASVS V1.2.10); `'` itself too, so the
# prefix can be removed again without ambiguity.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0", "'")


async def read_entries(
    engine: AsyncEngine, since: datetime | None = None
) -> AsyncIterator[LedgerEntry]:
    """Entries in `seq` order, fetched in batches so a long ledger never sits in memory."""
    async for rows in ledger_rows(engine, ledger_entries.c, since):
        for row in rows:
            yield row_to_entry(row)


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _note(entry: LedgerEntry) -> str:
    for key in ("reason", "comment", "summary"):
        value = entry.data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def write_jsonl(entries: Iterable[LedgerEntry], out: TextIO) -> int:
    count = 0
    for entry in entries:
        out.write(json.dumps(entry.model_dump(), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def _csv_row(entry: LedgerEntry) -> list[str]:
    fields = entry.model_dump()
    fields["data"] = canonical_json(entry.data).decode("utf-8")
    cells = ["" if fields[f] is None else str(fields[f]) for f in FIELDS]
    return [neutralise(c) for c in (*cells, _note(entry))]


class ExportError(ValueError):
    """An export file that cannot be read to the end; `last_seq` is the last whole entry."""

    def __init__(self, message: str, last_seq: int | None) -> None:
        super().__init__(message)
        self.last_seq = last_seq


def read_export(path: Path | str) -> Iterator[LedgerEntry]:
    """Entries from a JSONL or CSV export (by its first character), formula prefixes undone."""
    with open(path, encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            yield from _read_jsonl(handle)
        else:
            yield from _read_csv(handle)


def _read_jsonl(handle: TextIO) -> Iterator[LedgerEntry]:
    last: int | None = None
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            entry = LedgerEntry.model_validate_json(line)
        except ValueError:
            raise ExportError(f"line {number} is not a complete ledger entry", last) from None
        last = entry.seq
        yield entry


def _read_csv(handle: TextIO) -> Iterator[LedgerEntry]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header != CSV_COLUMNS:
        raise ExportError("the CSV header is not that of a Signoff ledger export", None)
    last: int | None = None
    for number, row in enumerate(reader, start=2):
        try:
            cells = dict(zip(FIELDS, (restore(c) for c in row), strict=False))
            if len(row) != len(CSV_COLUMNS):
                raise ValueError("wrong number of cells")
            entry = LedgerEntry(
                **{
                    **cells,
                    "seq": int(cells["seq"]),
                    "actor_person": cells["actor_person"] or None,
                    "data": json.loads(cells["data"]),
                }
            )
        except (ValueError, KeyError):
            raise ExportError(f"row {number} is not a complete ledger entry", last) from None
        last = entry.seq
        yield entry


def verify_export(path: Path | str) -> Verification:
    """Verify an export alone; one that starts mid-chain trusts its first link."""
    entries = read_export(path)
    first = next(entries, None)
    if first is None:
        return Verification(True, 0, None, GENESIS_HASH)
    start = GENESIS_HASH if first.seq == 1 else None

    def chained() -> Iterator[LedgerEntry]:
        yield first
        yield from entries

    return verify_chain(chained(), start_prev_hash=start)


def _report(result: Verification, what: str, out: TextIO) -> int:
    if result.ok:
        print(
            f"{what} OK: {result.checked} entries verified, head seq {result.last_good_seq or 0} "
            f"hash {result.head_hash}",
            file=out,
        )
        return 0
    print(f"{what} BROKEN at seq {result.first_bad_seq}: {result.problem}", file=out)
    print(f"the chain holds up to seq {result.last_good_seq or 0}", file=out)
    return 1


def _show_progress(done: int, total: int) -> None:
    print(f"verified {done:,} of {total:,} entries ...", file=sys.stderr)


async def run_verify(
    database_url: str, file: str | None, out: TextIO, workers: int | None = None
) -> int:
    """`signoff audit verify [--file F]`: 0 when the chain holds, 1 when broken, 2 bad input."""
    if file is not None:
        try:
            return _report(verify_export(file), f"export {file}", out)
        except ExportError as error:
            last = error.last_seq if error.last_seq is not None else "none"
            print(f"export {file} is incomplete: {error}; last complete seq {last}", file=out)
            return 1
        except OSError as error:
            print(f"cannot read {file}: {error.strerror}", file=out)
            return 2
    engine = create_engine(database_url, reader=True)
    try:
        result = await verify_database(engine, workers, progress=_show_progress)
        return _report(result, "ledger", out)
    finally:
        await engine.dispose()


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    if len(text) == 10:  # a bare date means its start, in UTC
        text += "T00:00:00Z"
    moment = parse_time(text)
    return moment.astimezone(UTC)


async def run_export(database_url: str, fmt: str, since: str | None, out: TextIO) -> int:
    """`signoff audit export`: writes entries to `out`, progress to standard error."""
    try:
        start = _since(since)
    except ValueError:
        print(f"--since {since!r} is not an RFC 3339 time or a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    engine = create_engine(database_url, reader=True)
    written = 0
    try:
        writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        async for entry in read_entries(engine, start):
            if writer is not None:
                writer.writerow(_csv_row(entry))
            else:
                write_jsonl((entry,), out)
            written += 1
            if written % PROGRESS_EVERY == 0:
                print(f"exported {written} entries ...", file=sys.stderr)
    finally:
        await engine.dispose()
    print(f"exported {written} entries", file=sys.stderr)
    return 0
