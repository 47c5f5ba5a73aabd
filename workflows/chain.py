"""Walking the ledger's hash chain, an entry at a time or in stretches joined in seq order;
pure, and imports nothing of the store."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from workflows.ledger import (
    GENESIS_HASH,
    HASHED_FIELDS,
    LedgerEntry,
    data_problem,
    hash_matches,
    reparsed_hash_matches,
    spliced_hash,
    stored_row_matches,
)

_SEQ_AT = HASHED_FIELDS.index("seq")
_PREV_AT = HASHED_FIELDS.index("prev_hash")


@dataclass(frozen=True)
class Verification:
    """The outcome of walking a chain: where it first breaks, or how far it holds."""

    ok: bool
    checked: int
    last_good_seq: int | None
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Stretch:
    """A stretch of the chain walked on its own, trusting its first link: the first entry's
    `seq` and `prev_hash` (None when it held no entries) for `ChainVerifier.join` to check."""

    first_seq: int | None
    first_prev_hash: str | None
    result: Verification


class ChainVerifier:
    """Checks entries one at a time, so a long ledger can be streamed through it."""

    def __init__(self, start_prev_hash: str | None = GENESIS_HASH) -> None:
        # `None` trusts the first entry's link: an export that starts mid-chain, or a stretch.
        self._prev = start_prev_hash
        self._expected_seq: int | None = 1 if start_prev_hash == GENESIS_HASH else None
        self.checked = 0
        self.last_seq: int | None = None
        self.head = start_prev_hash or GENESIS_HASH
        self.failure: Verification | None = None
        self._first: tuple[int, str] | None = None

    def feed(self, entry: LedgerEntry, defect: str | None = None) -> bool:
        """Check the next entry; False (and `failure` set) at the first break. `defect` is
        what its reader found wrong in its text (a key held twice), a break like an edit."""
        return self._check(entry.hashed_fields(), entry.hash, hash_matches, defect)

    def check(self, fields: dict[str, Any], stated_hash: str) -> bool:
        """`feed` for an entry given as its `HASHED_FIELDS` and the hash stored with them, so
        a long ledger need not be turned into models first."""
        return self._check(fields, stated_hash, hash_matches)

    def check_stored(self, fields: dict[str, Any], stated_hash: str) -> bool:
        """`check` for a row as the database holds it, its `data` still JSON text."""
        return self._check(fields, stated_hash, stored_row_matches)

    def check_stored_rows(self, rows: Iterable[Sequence[Any]]) -> bool:
        """`check_stored` for rows of the `HASHED_FIELDS` in order and then the stored hash.
        The usual row, its links whole and its data text as Signoff wrote it, takes a tight
        loop; any other goes through the full check, which names what is wrong."""
        if self.failure is not None:
            return False
        rows = iter(rows)
        if self._first is None:
            row = next(rows, None)
            if row is None:
                return True
            if not self.check_stored(dict(zip(HASHED_FIELDS, row, strict=False)), row[-1]):
                return False
        expected, prev, checked = self._expected_seq, self._prev, self.checked
        for row in rows:
            stated = row[-1]
            if row[_SEQ_AT] == expected and row[_PREV_AT] == prev and spliced_hash(row) == stated:
                expected, prev, checked = row[_SEQ_AT] + 1, stated, checked + 1
                continue
            self._catch_up(checked, expected, prev)
            fields = dict(zip(HASHED_FIELDS, row, strict=False))
            if not self._check(fields, stated, reparsed_hash_matches):
                return False
            expected, prev, checked = self._expected_seq, self._prev, self.checked
        self._catch_up(checked, expected, prev)
        return True

    def _catch_up(self, checked: int, expected: int | None, prev: str | None) -> None:
        if checked > self.checked and expected is not None and prev is not None:
            self._advance(checked - self.checked, expected - 1, prev)

    def _check(
        self,
        fields: dict[str, Any],
        stated_hash: str,
        matches: Callable[[dict[str, Any], str], bool],
        defect: str | None = None,
    ) -> bool:
        if self.failure is not None:
            return False
        seq, prev_hash = fields["seq"], fields["prev_hash"]
        if self._first is None:
            self._first = (seq, prev_hash)
        problem = self._link_problem(seq, prev_hash) or defect
        if problem is None and not matches(fields, stated_hash):
            problem = data_problem(fields["data"]) or (
                "hash does not match the entry's contents (it was edited)"
            )
        if problem is not None:
            return self._fail(seq, problem)
        self._advance(1, seq, stated_hash)
        return True

    def join(self, stretch: Stretch) -> bool:
        """Take a stretch walked elsewhere as if its entries had been checked here: its first
        link against this chain's end, then its own result."""
        if self.failure is not None:
            return False
        if stretch.first_seq is None or stretch.first_prev_hash is None:
            return True
        problem = self._link_problem(stretch.first_seq, stretch.first_prev_hash)
        if problem is not None:
            return self._fail(stretch.first_seq, problem)
        walked = stretch.result
        if walked.last_good_seq is not None:
            self._advance(walked.checked, walked.last_good_seq, walked.head_hash)
        if walked.ok:
            return True
        assert walked.first_bad_seq is not None and walked.problem is not None
        return self._fail(walked.first_bad_seq, walked.problem)

    def _link_problem(self, seq: int, prev_hash: str) -> str | None:
        expected = self._expected_seq
        if expected is not None and seq != expected:
            return f"expected seq {expected}, found {seq} (an entry is missing)"
        if self._prev is not None and prev_hash != self._prev:
            return "prev_hash does not match the hash of the entry before it"
        return None

    def _fail(self, seq: int, problem: str) -> bool:
        expected = self._expected_seq
        bad = expected if expected is not None and seq > expected else seq
        self.failure = Verification(False, self.checked, self.last_seq, self.head, bad, problem)
        return False

    def _advance(self, count: int, seq: int, hash_: str) -> None:
        self.checked += count
        self.last_seq = seq
        self._expected_seq = seq + 1
        self._prev = self.head = hash_

    def result(self) -> Verification:
        return self.failure or Verification(True, self.checked, self.last_seq, self.head)

    def stretch(self) -> Stretch:
        """This walk as a stretch for another verifier to join (start it with None)."""
        first_seq, first_prev = self._first or (None, None)
        return Stretch(first_seq, first_prev, self.result())


def verify_chain(
    entries: Iterable[LedgerEntry], start_prev_hash: str | None = GENESIS_HASH
) -> Verification:
    """Recompute every hash and link; `start_prev_hash=None` trusts the first link (an excerpt)."""
    verifier = ChainVerifier(start_prev_hash)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result()
