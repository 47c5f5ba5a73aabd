"""The audit ledger's canonical form: entry fields, sealing and hashing; pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
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
_DATA_AT = HASHED_FIELDS.index("data")


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


def read_json(text: str | bytes) -> tuple[Any, str | None]:
    """JSON text parsed, and the first key found twice in one of its objects (or None).

    Readers disagree on such an object: Python's `json` and pydantic keep the last value,
    others the first, so a row holding one can verify here and read otherwise elsewhere.
    Raises ValueError for text that is not JSON.
    """
    twice: list[str] = []

    def note_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) != len(pairs) and not twice:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    twice.append(key)
                    break
                seen.add(key)
        return found

    value = json.loads(text, object_pairs_hook=note_twice)
    return value, (twice[0] if twice else None)


def twice_problem(key: str) -> str:
    return f"an object holds the key {key!r} twice (readers would disagree on its value)"


def data_problem(data: Any) -> str | None:
    """What is wrong with a stored row's `data` text beyond its hash: a key held twice."""
    if not isinstance(data, str | bytes):
        return None
    try:
        key = read_json(data)[1]
    except ValueError:
        return None
    return None if key is None else twice_problem(key)


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


def stored_data(data: dict[str, Any]) -> str:
    """The `data` column's text: canonical JSON, so verification can hash it as it stands."""
    return canonical_json(data).decode("utf-8")


def hash_matches(fields: dict[str, Any], stated_hash: str) -> bool:
    return recompute_hash(fields) == stated_hash


def spliced_hash(row: Sequence[Any]) -> str:
    """The hash of a stored row, the `HASHED_FIELDS` in order with `data` still its JSON text,
    that text spliced into the encoding as it stands ("" when the row will not encode).

    Text written by `stored_data` gives the sealed hash, which saves parsing and writing it
    again. Splicing cannot pass a changed row: every other field is a quoted string, a number
    or null after a fixed key, and a quote inside a string is escaped, so the bytes equal the
    sealed ones only where the text is the sealed data's exact bytes.
    """
    fields = dict(zip(HASHED_FIELDS, row, strict=False))
    try:
        fields["data"] = orjson.Fragment(row[_DATA_AT])
        return hashlib.sha256(orjson.dumps(fields, option=_ORJSON_OPTIONS)).hexdigest()
    except (orjson.JSONEncodeError, TypeError):
        return ""


def reparsed_hash_matches(fields: dict[str, Any], stated_hash: str) -> bool:
    """The definition for a stored row: its `data` text parsed and encoded again, for text
    that does not splice (rows written before `stored_data`, or edited)."""
    try:
        data, twice = read_json(fields["data"])
        return twice is None and hash_matches({**fields, "data": data}, stated_hash)
    except (TypeError, ValueError):
        return False  # not JSON, or a column no JSON encoder takes: edited


def stored_row_matches(fields: dict[str, Any], stated_hash: str) -> bool:
    """`hash_matches` for a row as the database holds it, `data` still JSON text."""
    row = [fields[name] for name in HASHED_FIELDS]
    return spliced_hash(row) == stated_hash or reparsed_hash_matches(fields, stated_hash)


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
