"""An auditor's check of a Signoff ledger export with nothing but Python's standard library:
every entry's hash and link, and that the chain holds each anchored (seq, hash).

Imports the standard library only, so it runs on any Python 3.9 or newer without Signoff
installed; `signoff audit export --anchors DIR` puts a copy in DIR. Timestamp tokens are
checked apart from it, with `openssl ts -verify` (see the README beside it).

    python3 check_chain.py ledger.jsonl [anchors.jsonl]

Exit status 0 when everything holds, 1 when something does not, 2 for unusable input.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

GENESIS = "0" * 64


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field."""
    fields = {key: value for key, value in entry.items() if key != "hash"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_entries(lines: list[str], recorded: set[str]) -> tuple[str | None, dict[int, str], int]:
    """(the first problem or None, each seq's hash, the last seq that holds); the digests of
    the tokens that `anchored` entries record are added to `recorded`."""
    hashes: dict[int, str] = {}
    prev: str | None = None
    expected: int | None = None
    last = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            seq, stated = int(entry["seq"]), str(entry["hash"])
        except (ValueError, KeyError, TypeError):
            return f"line {number} is not a ledger entry", hashes, last
        if expected is None:  # an export may start after an archived stretch
            prev = GENESIS if seq == 1 else entry.get("prev_hash")
            expected = seq
        if seq != expected:
            return f"seq {expected}: found seq {seq} (an entry is missing)", hashes, last
        if entry.get("prev_hash") != prev:
            return f"seq {seq}: prev_hash does not match the entry before it", hashes, last
        if entry_hash(entry) != stated:
            return f"seq {seq}: hash does not match the entry's contents", hashes, last
        hashes[seq], prev, expected, last = stated, stated, seq + 1, seq
        if entry.get("action") == "anchored":
            recorded.update(str(t.get("sha256")) for t in entry["data"].get("tokens", []))
    return None, hashes, last


def check_anchors(
    lines: list[str], hashes: dict[int, str], last: int, recorded: set[str]
) -> list[str]:
    first = min(hashes, default=1)
    problems = []
    for line in lines:
        if not line.strip():
            continue
        anchor = json.loads(line)
        seq, anchored = int(anchor["seq"]), str(anchor["hash"])
        if seq > last:
            problems.append(f"seq {seq} was anchored but the ledger ends at seq {last}")
        elif seq in hashes and hashes[seq] != anchored:
            problems.append(f"seq {seq}: the chain's hash is not the anchored {anchored}")
        elif seq >= first and anchor.get("token_sha256") not in recorded:
            # Each anchor is written with an entry after it that records its token.
            problems.append(f"seq {seq}: no entry records this anchor (the tail was cut)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as handle:
            entries = handle.readlines()
        anchors: list[str] = []
        if len(argv) == 3:
            with open(argv[2], encoding="utf-8") as handle:
                anchors = handle.readlines()
    except OSError as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return 2
    recorded: set[str] = set()
    problem, hashes, last = check_entries(entries, recorded)
    problems = ([problem] if problem else []) + check_anchors(anchors, hashes, last, recorded)
    for found in problems:
        print(f"BROKEN: {found}")
    if problems:
        return 1
    head = hashes.get(last, GENESIS)
    print(f"OK: {len(hashes)} entries, head seq {last} hash {head}; {len(anchors)} anchors hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
