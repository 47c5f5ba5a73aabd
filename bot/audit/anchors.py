"""An anchoring round as it leaves the database: the ledger's record of it, the governance
channel's message and the operator's copy (a file or a directory); imports no adapters and
nothing above storage."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.storage.anchors import Anchor
from workflows.ledger import format_time


@dataclass(frozen=True)
class Round:
    """The tokens one round obtained for the head (seq, hash), at `at`."""

    seq: int
    hash: str
    at: datetime
    anchors: Sequence[Anchor]


def ledger_record(made: Round) -> dict[str, Any]:
    """What the ledger's `anchored` entry holds: without it, a removed anchor row would leave
    no trace in the database."""
    return {
        "seq": made.seq,
        "hash": made.hash,
        "tokens": [
            {"tsa": a.tsa, "sha256": a.token_sha256, "stamped_at": a.stamped_at}
            for a in made.anchors
        ],
    }


def channel_text(made: Round) -> str:
    """The governance channel's copy: enough for an auditor to hold the database to it."""
    lines = [
        f"Ledger anchored: seq {made.seq}, hash {made.hash}, at {format_time(made.at)}.",
        *(
            f"Token sha256 {a.token_sha256} from {a.tsa}, stamped {a.stamped_at}."
            for a in made.anchors
        ),
        f"An auditor checks the ledger still holds it: signoff audit verify --anchors "
        f"--expect-head {made.seq}:{made.hash}",
    ]
    return "\n".join(lines)


def copy_record(made: Round) -> dict[str, Any]:
    """The operator's copy: the ledger record with each token itself, so it stands alone."""
    record = ledger_record(made)
    record["anchored_at"] = format_time(made.at)
    for entry, anchor in zip(record["tokens"], made.anchors, strict=True):
        entry["token"] = base64.b64encode(anchor.token).decode("ascii")
    return record


def write_copy(path: Path, made: Round) -> list[Path]:
    """Append the round to the file at `path` as one JSON line, or, when `path` is a
    directory, write it there as new files that are never rewritten (write-once storage
    accepts them): `anchor-SEQ.json` and each token as `anchor-SEQ-N.tsr`. The paths written."""
    line = json.dumps(copy_record(made), sort_keys=True) + "\n"
    if not path.is_dir():
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return [path]
    written = []
    stem = f"anchor-{made.seq:012d}"
    for number, anchor in enumerate(made.anchors, start=1):
        token_path = path / f"{stem}-{number}.tsr"
        with open(token_path, "xb") as out:
            out.write(anchor.token)
        written.append(token_path)
    record_path = path / f"{stem}.json"
    with open(record_path, "x", encoding="utf-8") as handle:
        handle.write(line)
    written.append(record_path)
    return written
