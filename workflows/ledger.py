"""The audit ledger's canonical form: entry fields, hashing, chain verification; pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from workflows.model import Actor

GENESIS_HASH = "0" * 64


class AuditEvent(BaseModel):
    """What a transition wants recorded; the store gives it a `seq`, a time and hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    subject_type: str
    subject_id: str
    actor: Actor
    data: dict[str, Any] = {}


class LedgerEntry(BaseModel):
    """One sealed ledger row; `hash` covers every other field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    at: str
    actor_person: str | None
    actor_platform: str
    actor_platform_user_id: str
    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    policy_digest: str
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        # Read directly, not through model_dump: verification runs this once per entry.
        return {name: getattr(self, name) for name in HASHED_FIELDS}


HASHED_FIELDS = tuple(name for name in LedgerEntry.model_fields if name != "hash")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and `Z`; naive times are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of `format_time`; accepts any RFC 3339 offset and returns UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(v) for v in value)
    return False


# Dates, dataclasses and subclasses of str, int, dict and list are left to `json`, which
# writes or refuses them as it always has; orjson would write them in its own way.
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _encode(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8. orjson writes exactly what `json.dumps` does with these
    options, twenty times faster; what it refuses (integers past 64 bits) goes to `json`."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return reference_encode(value)


def reference_encode(value: Any) -> bytes:
    """The canonical form's definition, with the standard library."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no floats: the same bytes on every machine."""
    # Floats print differently across platforms; the ledger keeps only exact values.
    if _has_float(value):
        raise TypeError("ledger data may not hold floats; store a string or an integer")
    return _encode(value)


def compute_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields)).hexdigest()


def recompute_hash(fields: dict[str, Any]) -> str:
    """The hash of stored fields, for verification: what was sealed held no float, and a
    float put there later changes the bytes, so the check of `canonical_json` is not needed."""
    return hashlib.sha256(_encode(fields)).hexdigest()


def seal(
    seq: int, at: datetime, event: AuditEvent, policy_digest: str, prev_hash: str
) -> LedgerEntry:
    """Turn an event into the next ledger entry after `prev_hash`."""
    fields: dict[str, Any] = {
        "seq": seq,
        "at": format_time(at),
        "actor_person": event.actor.person,
        "actor_platform": event.actor.platform,
        "actor_platform_user_id": event.actor.platform_user_id,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "data": json.loads(canonical_json(event.data)),
        "policy_digest": policy_digest,
        "prev_hash": prev_hash,
    }
    return LedgerEntry(**fields, hash=compute_hash(fields))


@dataclass(frozen=True)
class Verification:
    """The outcome of walking a chain: where it first breaks, or how far it holds."""

    ok: bool
    checked: int
    last_good_seq: int | None
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None


class ChainVerifier:
    """Checks entries one at a time, so a long ledger can be streamed through it."""

    def __init__(self, start_prev_hash: str | None = GENESIS_HASH) -> None:
        # `None` trusts the first entry's link: an export that starts mid-chain.
        self._prev = start_prev_hash
        self._expected_seq: int | None = 1 if start_prev_hash == GENESIS_HASH else None
        self.checked = 0
        self.last_seq: int | None = None
        self.head = start_prev_hash or GENESIS_HASH
        self.failure: Verification | None = None

    def feed(self, entry: LedgerEntry) -> bool:
        """Check the next entry; False (and `failure` set) at the first break."""
        return self.check(entry.hashed_fields(), entry.hash)

    def check(self, fields: dict[str, Any], stated_hash: str) -> bool:
        """`feed` for an entry given as its `HASHED_FIELDS` and the hash stored with them, so
        a long ledger need not be turned into models first."""
        if self.failure is not None:
            return False
        seq = fields["seq"]
        expected = self._expected_seq
        problem = None
        if expected is not None and seq != expected:
            problem = f"expected seq {expected}, found {seq} (an entry is missing)"
        elif self._prev is not None and fields["prev_hash"] != self._prev:
            problem = "prev_hash does not match the hash of the entry before it"
        elif recompute_hash(fields) != stated_hash:
            problem = "hash does not match the entry's contents (it was edited)"
        if problem is not None:
            bad = expected if expected is not None and seq > expected else seq
            self.failure = Verification(False, self.checked, self.last_seq, self.head, bad, problem)
            return False
        self.checked += 1
        self.last_seq = seq
        self._expected_seq = seq + 1
        self._prev = self.head = stated_hash
        return True

    def result(self) -> Verification:
        return self.failure or Verification(True, self.checked, self.last_seq, self.head)


def verify_chain(
    entries: Iterable[LedgerEntry], start_prev_hash: str | None = GENESIS_HASH
) -> Verification:
    """Recompute every hash and link; `start_prev_hash=None` trusts the first link (an excerpt)."""
    verifier = ChainVerifier(start_prev_hash)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result()
