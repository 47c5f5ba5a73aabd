"""The auditor's check of a chain against its anchors: every token verified against the
trusted roots, every anchored (seq, hash) still in the chain, every anchor the ledger
recorded still stored, and the head an auditor copied from the governance channel; imports
no adapters and nothing above storage.

Pure over what it is given, so the database and an export are checked by the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from bot.audit.tsa import TokenError, check_token, token_digest
from bot.storage.anchors import Anchor


@dataclass(frozen=True)
class Finding:
    """One thing the anchors show is wrong, at the `seq` where the ledger stops matching."""

    seq: int
    problem: str


@dataclass(frozen=True)
class AnchorCheck:
    tokens: int  # tokens that verified
    newest: Anchor | None
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


def _short(hash_: str) -> str:
    return hash_[:16] + "..."


def check_anchors(
    anchors: Sequence[Anchor],
    hashes: Mapping[int, str],
    last_seq: int,
    roots: list[x509.Certificate],
    recorded: Sequence[tuple[int, Mapping[str, Any]]] = (),
    expect_head: tuple[int, str] | None = None,
    first_seq: int = 1,
) -> AnchorCheck:
    """Check `anchors` against the chain whose entries run from `first_seq` to `last_seq`
    with `hashes` (seq -> stored hash) at the anchored seqs. `recorded` holds the chain's own
    `anchored` entries (their seq and data); `expect_head` a (seq, hash) held outside."""
    findings: list[Finding] = []
    trusted: list[Anchor] = []
    for anchor in anchors:
        try:
            check_token(anchor.token, anchor.hash, roots)
        except TokenError as error:
            findings.append(
                Finding(
                    anchor.seq,
                    f"the token from {anchor.tsa} over seq {anchor.seq} does not verify against "
                    f"the trusted roots: {error} (forged, altered or from an untrusted authority)",
                )
            )
            continue
        if token_digest(anchor.token) != anchor.token_sha256:
            findings.append(
                Finding(
                    anchor.seq, f"the stored digest of the token over seq {anchor.seq} is wrong"
                )
            )
            continue
        trusted.append(anchor)
    findings += _against_chain(trusted, hashes, last_seq, first_seq)
    findings += _recorded_still_stored(anchors, recorded)
    findings += _stored_are_recorded(trusted, recorded, last_seq, first_seq)
    if expect_head is not None:
        findings += _expected(expect_head, hashes, last_seq)
    newest = max(trusted, key=lambda a: a.seq, default=None)
    return AnchorCheck(len(trusted), newest, sorted(findings, key=lambda f: f.seq))


def _against_chain(
    anchors: Sequence[Anchor], hashes: Mapping[int, str], last_seq: int, first_seq: int
) -> list[Finding]:
    findings: list[Finding] = []
    good = 0  # the newest anchored seq the chain still holds
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq > last_seq:
            findings.append(
                Finding(
                    last_seq + 1,
                    f"the ledger ends at seq {last_seq}, but seq {anchor.seq} was anchored "
                    f"(hash {_short(anchor.hash)}, stamped {anchor.stamped_at} by {anchor.tsa}): "
                    f"entries {last_seq + 1} to {anchor.seq} were removed from the end",
                )
            )
            continue
        stored = hashes.get(anchor.seq)
        if stored is None and anchor.seq < first_seq - 1:
            continue  # archived: the chain is verified from a later anchor
        if stored != anchor.hash:
            findings.append(
                Finding(
                    anchor.seq,
                    f"entry seq {anchor.seq} is not the one anchored (stamped "
                    f"{anchor.stamped_at} by {anchor.tsa}): its hash is "
                    f"{_short(stored or 'missing')}, the token's {_short(anchor.hash)}; the chain "
                    f"was rewritten after seq {good} and at or before seq {anchor.seq}",
                )
            )
            continue
        good = max(good, anchor.seq)
    return findings


def _recorded_still_stored(
    anchors: Sequence[Anchor], recorded: Sequence[tuple[int, Mapping[str, Any]]]
) -> list[Finding]:
    stored = {a.token_sha256: a for a in anchors}
    findings: list[Finding] = []
    for entry_seq, data in recorded:
        for token in data.get("tokens", []):
            anchor = stored.get(token.get("sha256"))
            seq = data.get("seq")
            if anchor is None:
                findings.append(
                    Finding(
                        int(seq) if isinstance(seq, int) else entry_seq,
                        f"the anchor over seq {seq} that entry seq {entry_seq} records (token "
                        f"sha256 {_short(str(token.get('sha256')))} from {token.get('tsa')}) is "
                        "no longer stored: an anchor was removed",
                    )
                )
            elif (anchor.seq, anchor.hash) != (seq, data.get("hash")):
                findings.append(
                    Finding(
                        entry_seq,
                        f"entry seq {entry_seq} records a token over seq {seq}, but the stored "
                        f"token with that digest is over seq {anchor.seq}",
                    )
                )
    return findings


def _stored_are_recorded(
    anchors: Sequence[Anchor],
    recorded: Sequence[tuple[int, Mapping[str, Any]]],
    last_seq: int,
    first_seq: int,
) -> list[Finding]:
    """Each anchor is written with the entry that records it, later in the chain: an anchor
    the chain holds but no entry records means the entries after it were cut away, back to
    the newest anchor, where the anchors alone would see nothing missing."""
    digests = {str(t.get("sha256")) for _, data in recorded for t in data.get("tokens", [])}
    return [
        Finding(
            anchor.seq + 1,
            f"no entry records the anchor over seq {anchor.seq} (stamped {anchor.stamped_at} "
            f"by {anchor.tsa}), though its entry was written after it: entries after seq "
            f"{anchor.seq} were removed from the end",
        )
        for anchor in anchors
        if anchor.seq <= last_seq
        and anchor.seq >= first_seq - 1
        and anchor.token_sha256 not in digests
    ]


def _expected(expect: tuple[int, str], hashes: Mapping[int, str], last_seq: int) -> list[Finding]:
    seq, hash_ = expect
    if seq > last_seq:
        return [
            Finding(
                last_seq + 1,
                f"the ledger ends at seq {last_seq}, before the head you expect at seq {seq}: "
                "entries were removed from the end",
            )
        ]
    if hashes.get(seq) != hash_:
        return [
            Finding(
                seq,
                f"entry seq {seq} is not the head you expect: its hash is "
                f"{_short(hashes.get(seq) or 'missing')}, not {_short(hash_)} (the chain was "
                "rewritten)",
            )
        ]
    return []
