"""`signoff audit verify --anchors`: the chain, then its anchors, from the database or from an
export and its anchors file, so an auditor need not trust the database; imports no adapters.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.anchor_checks import AnchorCheck, Finding, check_anchors
from bot.audit.tsa import TokenError, check_token
from bot.audit.verify import Progress, verify_database
from bot.storage.anchors import (
    ANCHORED,
    Anchor,
    all_anchors,
    anchored_entries,
    entry_hashes,
    first_entry,
)
from bot.storage.tables import ledger_entries
from workflows.chain import ChainVerifier, Verification
from workflows.ledger import GENESIS_HASH, LedgerEntry


@dataclass(frozen=True)
class Audit:
    chain: Verification
    anchors: AnchorCheck
    # An export of a period: the seq whose link to the entry before it is taken on trust.
    trusted_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.anchors.ok and self.anchors.tokens > 0


def parse_expected_head(text: str) -> tuple[int, str]:
    """`SEQ:HASH` as copied from the governance channel; ValueError otherwise."""
    seq, _, hash_ = text.partition(":")
    hash_ = hash_.strip().lower()
    if not seq.strip().isdigit() or len(hash_) != 64 or set(hash_) - set("0123456789abcdef"):
        raise ValueError(f"--expect-head {text!r} is not SEQ:HASH (a number, a colon, 64 hex)")
    return int(seq), hash_


def _archive_start(
    anchors: list[Anchor], first: tuple[int, str] | None, roots: list[x509.Certificate]
) -> tuple[int, str] | None:
    """Where the walk starts when older entries were archived: the anchor whose verified
    token covers the hash the first kept entry links to."""
    if first is None or first[0] == 1:
        return None
    for anchor in anchors:
        if (anchor.seq, anchor.hash) == (first[0] - 1, first[1]):
            try:
                check_token(anchor.token, anchor.hash, roots)
            except TokenError:
                continue
            return anchor.seq, anchor.hash
    return None


async def audit_database(
    engine: AsyncEngine,
    roots: list[x509.Certificate],
    expect_head: tuple[int, str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Audit:
    async with engine.connect() as conn:
        anchors = await all_anchors(conn)
        first = await first_entry(conn)
    start = _archive_start(anchors, first, roots)
    if first is not None and first[0] > 1 and start is None:
        chain = Verification(
            False, 0, None, GENESIS_HASH, 1,
            f"the entries start at seq {first[0]} and no verified anchor covers seq "
            f"{first[0] - 1}, where they were archived",
        )  # fmt: skip
    else:
        chain = await verify_database(engine, workers, progress=progress, start=start)
    async with engine.connect() as conn:
        last = int(await conn.scalar(select(func.max(ledger_entries.c.seq))) or 0)
        wanted = [a.seq for a in anchors] + ([expect_head[0]] if expect_head else [])
        hashes = await entry_hashes(conn, wanted)
        recorded = await anchored_entries(conn)
    if start is not None:
        hashes = {**hashes, start[0]: start[1]}
    first_seq = first[0] if first else 1
    check = check_anchors(anchors, hashes, last, roots, recorded, expect_head, first_seq)
    return Audit(chain, check)


def read_anchors_file(path: Path | str) -> Iterator[Anchor]:
    """Anchors from an `anchors.jsonl` written by `signoff audit export --anchors`."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                fields: dict[str, Any] = json.loads(line)
                yield Anchor(
                    seq=int(fields["seq"]),
                    hash=str(fields["hash"]),
                    tsa=str(fields["tsa"]),
                    stamped_at=str(fields["stamped_at"]),
                    token=base64.b64decode(fields["token"], validate=True),
                    token_sha256=str(fields["token_sha256"]),
                )
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"{path} line {number} is not an anchor") from None


def audit_export(
    entries: Iterator[LedgerEntry],
    anchors: list[Anchor],
    roots: list[x509.Certificate],
    expect_head: tuple[int, str] | None = None,
) -> Audit:
    """The same checks as `audit_database`, over an export file's entries and anchors."""
    wanted = {a.seq for a in anchors} | ({expect_head[0]} if expect_head else set())
    hashes: dict[int, str] = {}
    recorded: list[tuple[int, dict[str, Any]]] = []
    verifier: ChainVerifier | None = None
    first_seq = 1
    trusted_from: int | None = None
    for entry in entries:
        if verifier is None:
            first_seq = entry.seq
            start = _archive_start(anchors, (entry.seq, entry.prev_hash), roots)
            first_link: str | None = GENESIS_HASH
            if start is not None:
                hashes[start[0]] = first_link = start[1]
            elif entry.seq > 1:  # `--since`: no anchor vouches for the first link
                first_link, trusted_from = None, entry.seq
            verifier = ChainVerifier(first_link)
        if entry.seq in wanted:
            hashes[entry.seq] = entry.hash
        if entry.action == ANCHORED:
            recorded.append((entry.seq, entry.data))
        if not verifier.feed(entry):
            break
    chain = verifier.result() if verifier else Verification(True, 0, None, GENESIS_HASH)
    last = chain.last_good_seq or 0
    if not chain.ok:
        last = max([last, *hashes])
    check = check_anchors(anchors, hashes, last, roots, recorded, expect_head, first_seq)
    return Audit(chain, check, trusted_from)


def report(audit: Audit, what: str, out: TextIO) -> int:
    """Print the audit's outcome; 0 when the chain and its anchors hold, 1 otherwise."""
    chain = audit.chain
    if chain.ok:
        print(
            f"{what} OK: {chain.checked} entries verified, head seq {chain.last_good_seq or 0} "
            f"hash {chain.head_hash}",
            file=out,
        )
    else:
        print(f"{what} BROKEN at seq {chain.first_bad_seq}: {chain.problem}", file=out)
    if audit.trusted_from is not None:
        print(
            f"note: the entries start at seq {audit.trusted_from}; its link to the entry before "
            "is taken on trust (export from the start, or from an anchored seq, to check it)",
            file=out,
        )
    check = audit.anchors
    findings: list[Finding] = check.findings
    if not findings and check.tokens == 0:
        print("anchors FAILED: no anchor is stored, so nothing outside vouches for it", file=out)
    for finding in findings:
        print(f"anchors FAILED at seq {finding.seq}: {finding.problem}", file=out)
    if check.ok and check.newest is not None:
        newest = check.newest
        print(
            f"anchors OK: {check.tokens} tokens verified against the trusted roots; the chain "
            f"holds every anchored hash, the newest at seq {newest.seq} (stamped "
            f"{newest.stamped_at} by {newest.tsa})",
            file=out,
        )
    return 0 if audit.ok else 1


async def run_audit(
    database_url: str,
    file: str | None,
    anchors_file: str | None,
    roots_file: str | None,
    expect_head: str | None,
    out: TextIO,
    workers: int | None = None,
) -> int:
    """`signoff audit verify --anchors [FILE] [--expect-head SEQ:HASH]`: 0 when the chain and
    its anchors hold, 1 when not, 2 for input that cannot be used."""
    from bot.audit.export import ExportError, read_export
    from bot.audit.tsa import load_roots
    from bot.storage.database import create_engine

    try:
        expected = parse_expected_head(expect_head) if expect_head else None
        if not roots_file:
            raise ValueError("give the TSA roots with --roots or SIGNOFF_TSA_ROOTS")
        roots = load_roots(roots_file)
        if file is not None and not anchors_file:
            raise ValueError("with --file, name the export's anchors file: --anchors FILE")
        anchors = list(read_anchors_file(anchors_file)) if file and anchors_file else []
    except (ValueError, OSError) as error:
        print(f"signoff audit verify: {error}", file=out)
        return 2
    if file is not None:
        try:
            audit = audit_export(read_export(file), anchors, roots, expected)
        except (ExportError, OSError) as error:
            print(f"export {file} cannot be checked: {error}", file=out)
            return 1
        return report(audit, f"export {file}", out)
    engine = create_engine(database_url, reader=True)
    try:
        return report(await audit_database(engine, roots, expected, workers), "ledger", out)
    finally:
        await engine.dispose()
