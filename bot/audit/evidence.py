"""What an export hands an auditor beside the entries: the anchors and their tokens, a README
and the standard-library check script; and the ledger entry recording the export (AUD-14).
Imports no adapters and nothing above storage."""

from __future__ import annotations

import asyncio
import base64
import getpass
import hashlib
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

from bot.audit import check_chain
from bot.storage.anchors import Anchor, all_anchors, head
from bot.storage.database import create_engine
from bot.storage.ledger import append_events
from workflows.ledger import AuditEvent
from workflows.model import Actor

README = """Signoff ledger evidence
=======================

anchors.jsonl        every anchor: seq, hash, authority, time, token digest, token (base64)
anchor-SEQ-N.tsr     each authority's RFC 3161 time-stamp response (DER), as it answered
anchor-SEQ-N.hash    the message that token stamps: the entry hash at SEQ, 64 hex characters
check_chain.py       re-verifies an export's chain with Python's standard library alone

1. Check each token with OpenSSL alone, against the root certificates of the time-stamping
   authorities you trust (get them from the authority, not from this directory):

     openssl ts -verify -in anchor-SEQ-N.tsr -data anchor-SEQ-N.hash -CAfile tsa-roots.pem

   "Verification: OK" means the authority signed that hash at the time the token states;
   `openssl ts -reply -in anchor-SEQ-N.tsr -text` prints that time.

2. Check the entries (`signoff audit export -o ledger.jsonl`) and that they hold every
   anchored hash:

     python3 check_chain.py ledger.jsonl anchors.jsonl

3. Compare the newest anchor with the copy posted to the governance channel (its seq and
   hash). With Signoff installed, one command does all three:

     signoff audit verify --file ledger.jsonl --anchors anchors.jsonl \\
         --roots tsa-roots.pem --expect-head SEQ:HASH

Entries after the newest anchor are vouched for by nothing outside the database yet.
"""


async def stored_anchors(database_url: str) -> list[Anchor]:
    engine = create_engine(database_url, reader=True)
    try:
        async with engine.connect() as conn:
            return await all_anchors(conn)
    finally:
        await engine.dispose()


async def write_anchor_evidence(directory: Path, anchors: list[Anchor]) -> int:
    """Write the anchors, tokens, README and check script into `directory`; how many anchors."""
    await asyncio.to_thread(_write, directory, anchors)
    return len(anchors)


def anchor_files(anchors: list[Anchor]) -> dict[str, bytes]:
    """The files an auditor needs beside a ledger export, by name: `anchors.jsonl`, each token
    (`anchor-SEQ-N.tsr`) with the message it stamps (`anchor-SEQ-N.hash`), the README and
    `check_chain.py`. An evidence pack can take them as they are."""
    files: dict[str, bytes] = {}
    numbers: dict[int, int] = {}
    lines = []
    for anchor in anchors:
        numbers[anchor.seq] = numbers.get(anchor.seq, 0) + 1
        stem = f"anchor-{anchor.seq}-{numbers[anchor.seq]}"
        files[f"{stem}.tsr"] = anchor.token
        files[f"{stem}.hash"] = anchor.hash.encode("ascii")
        record = {
            "seq": anchor.seq,
            "hash": anchor.hash,
            "tsa": anchor.tsa,
            "stamped_at": anchor.stamped_at,
            "token_sha256": anchor.token_sha256,
            "token_file": f"{stem}.tsr",
            "token": base64.b64encode(anchor.token).decode("ascii"),
        }
        lines.append(json.dumps(record, sort_keys=True) + "\n")
    files["anchors.jsonl"] = "".join(lines).encode("utf-8")
    files["README.txt"] = README.encode("utf-8")
    files["check_chain.py"] = Path(check_chain.__file__).read_bytes()
    return files


def _write(directory: Path, anchors: list[Anchor]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in anchor_files(anchors).items():
        (directory / name).write_bytes(data)


class Digesting(io.TextIOBase):
    """Passes text through to `out`, keeping the SHA-256 and size of its UTF-8 bytes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.sha256.update(data)
        self.size += len(data)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


async def record_export(database_url: str, policy_digest: str, details: dict[str, Any]) -> int:
    """Append the `exported` entry (AUD-14): who exported, what range, the file's digest.
    The seq it was given."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            upto, _ = await head(conn)
            actor = Actor(person=None, platform="cli", platform_user_id=getpass.getuser())
            event = AuditEvent(
                action="exported",
                subject_type="ledger",
                subject_id=str(upto),
                actor=actor,
                data={**details, "upto_seq": upto},
            )
            (entry,) = await append_events(conn, [event], datetime.now(UTC), policy_digest)
        return entry.seq
    finally:
        await engine.dispose()


async def run_recorded_export(
    database_url: str,
    fmt: str,
    since: str | None,
    out: TextIO,
    policy_digest: str,
    anchors_dir: Path | None = None,
) -> int:
    """`signoff audit export`: the entries to `out`, the anchors into `anchors_dir`, and the
    export recorded in the ledger it exported."""
    from bot.audit.export import run_export

    # Read first: an anchor commits with the entry recording it, so every anchor read now has
    # that entry in the export, even when a round lands while the entries are written.
    stored = await stored_anchors(database_url) if anchors_dir is not None else []
    digesting = Digesting(out)
    code = await run_export(database_url, fmt, since, cast(TextIO, digesting))
    if code != 0:
        return code
    anchors = None
    if anchors_dir is not None:
        anchors = await write_anchor_evidence(anchors_dir, stored)
        print(f"wrote {anchors} anchors and the auditor's README to {anchors_dir}", file=sys.stderr)
    details = {
        "format": fmt,
        "since": since,
        "sha256": digesting.sha256.hexdigest(),
        "bytes": digesting.size,
        "anchors": anchors,
    }
    seq = await record_export(database_url, policy_digest, details)
    print(f"the export is recorded in the ledger at seq {seq}", file=sys.stderr)
    return 0
