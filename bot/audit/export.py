"""Operator tools for the ledger: verify the database or an export, export JSONL or CSV.

Imports no adapters. Exports carry every hashed field, so an auditor can re-verify the chain
from the file alone with `signoff audit verify --file`.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.verify import verify_database
from bot.storage.database import create_engine
from bot.storage.ledger import ledger_rows
from bot.storage.tables import ledger_entries
from workflows.chain import ChainVerifier, Verification
from workflows.ledger import (
    GENESIS_HASH,
    LedgerEntry,
    canonical_json,
    parse_time,
    read_json,
    twice_problem,
)

PROGRESS_EVERY = 10_000
FIELDS = list(LedgerEntry.model_fields)
CSV_COLUMNS = [*FIELDS, "note"]
# Cells a spreadsheet would run as a formula (OWASP ASVS V1.2.10); `'` itself too, so the
# prefix can be removed again without ambiguity.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0", "'")
# JSON lets these stand in a string, yet each ends a line for some reader (str.splitlines,
# JavaScript, log shippers); escaped, an entry stays one line for all of them. JSON's encoder
# escapes the C0 controls itself.
_LINE_ENDERS = re.compile("[\x80-\x9f\u2028\u2029]")


async def read_rows(
    engine: AsyncEngine, since: datetime | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Rows as the database holds them (`data` as text), in `seq` order, fetched in batches
    so a long ledger never sits in memory."""
    async for rows in ledger_rows(engine, [ledger_entries.c[name] for name in FIELDS], since):
        for row in rows:
            yield dict(row._mapping)


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def _note(data: Any) -> str:
    for key in ("reason", "comment", "summary"):
        value = data.get(key) if isinstance(data, dict) else None
        if isinstance(value, str) and value:
            return value
    return ""


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its pairs in order, a key held twice kept twice."""


def _every_pair(value: Any) -> str:
    if isinstance(value, _Pairs):
        return "{" + ",".join(f"{_every_pair(k)}:{_every_pair(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_every_pair(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _exported_data(text: str) -> tuple[Any, str | None]:
    """A row's data parsed, and, where an object in it holds a key twice, its compact text
    with every pair kept: the export shows the row as stored, so checking the file finds what
    checking the database finds."""
    data, twice = read_json(text)
    return data, None if twice is None else _every_pair(json.loads(text, object_pairs_hook=_Pairs))


def jsonl_line(row: Mapping[str, Any]) -> str:
    """One stored row as one line of JSON, whatever characters its text holds."""
    data, as_stored = _exported_data(row["data"])
    if as_stored is None:
        line = json.dumps({**row, "data": data}, ensure_ascii=False, sort_keys=True)
    else:
        line = json.dumps({**row, "data": None}, ensure_ascii=False, sort_keys=True)
        # `"data": null` is the top-level key and no other text: a quote in a string is escaped.
        line = line.replace('"data": null', f'"data": {as_stored}', 1)
    return _LINE_ENDERS.sub(lambda found: f"\\u{ord(found.group()):04x}", line) + "\n"


def _csv_row(row: Mapping[str, Any]) -> list[str]:
    data, as_stored = _exported_data(row["data"])
    fields = {**row, "data": as_stored or canonical_json(data).decode("utf-8")}
    cells = ["" if fields[f] is None else str(fields[f]) for f in FIELDS]
    return [neutralise(c) for c in (*cells, _note(data))]


class ExportError(ValueError):
    """An export file that cannot be read to the end; `last_seq` is the last whole entry."""

    def __init__(self, message: str, last_seq: int | None) -> None:
        super().__init__(message)
        self.last_seq = last_seq


# An entry read from an export, and what its text holds that readers would read differently.
Read = tuple[LedgerEntry, str | None]


def read_export(path: Path | str) -> Iterator[LedgerEntry]:
    """Entries from a JSONL or CSV export (by its first character), formula prefixes undone."""
    for entry, _ in read_export_checked(path):
        yield entry


def read_export_checked(path: Path | str) -> Iterator[Read]:
    """`read_export`, each entry with the problem of its text: a key held twice, or None."""
    with open(path, encoding="utf-8", newline="") as handle:
        first = handle.read(1)
        handle.seek(0)
        if first == "{":
            yield from _read_jsonl(handle)
        else:
            yield from _read_csv(handle)


def _read_jsonl(handle: TextIO) -> Iterator[Read]:
    last: int | None = None
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            fields, twice = read_json(line)
            entry = LedgerEntry.model_validate(fields, strict=True)
        except ValueError:
            raise ExportError(f"line {number} is not a complete ledger entry", last) from None
        last = entry.seq
        yield entry, None if twice is None else twice_problem(twice)


def _read_csv(handle: TextIO) -> Iterator[Read]:
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
            data, twice = read_json(cells["data"])
            entry = LedgerEntry(
                **{
                    **cells,
                    "seq": int(cells["seq"]),
                    "actor_person": cells["actor_person"] or None,
                    "data": data,
                }
            )
        except (ValueError, KeyError):
            raise ExportError(f"row {number} is not a complete ledger entry", last) from None
        last = entry.seq
        yield entry, None if twice is None else twice_problem(twice)


def verify_export(path: Path | str) -> Verification:
    """Verify an export alone; one that starts mid-chain trusts its first link."""
    verifier: ChainVerifier | None = None
    for entry, problem in read_export_checked(path):
        if verifier is None:
            verifier = ChainVerifier(GENESIS_HASH if entry.seq == 1 else None)
        if not verifier.feed(entry, problem):
            break
    return verifier.result() if verifier else Verification(True, 0, None, GENESIS_HASH)


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
        async for row in read_rows(engine, start):
            if writer is not None:
                writer.writerow(_csv_row(row))
            else:
                out.write(jsonl_line(row))
            written += 1
            if written % PROGRESS_EVERY == 0:
                print(f"exported {written} entries ...", file=sys.stderr)
    finally:
        await engine.dispose()
    print(f"exported {written} entries", file=sys.stderr)
    return 0
