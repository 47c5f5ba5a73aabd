"""Verifying the ledger fast finds what the definition finds: stored data text spliced into the
encoding, rows checked in a tight loop, and stretches walked apart (in worker processes
against the database) and joined, against one walk that parses every row."""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.verify import verify_database
from bot.storage.ledger import append_events
from bot.storage.tables import ledger_entries
from tests.audit.attacker import lift_guards
from workflows.chain import ChainVerifier, Verification
from workflows.ledger import (
    GENESIS_HASH,
    HASHED_FIELDS,
    AuditEvent,
    compute_hash,
    seal,
    spliced_hash,
    stored_data,
    stored_row_matches,
)
from workflows.model import Actor

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")
DATA_AT = HASHED_FIELDS.index("data")
FIELD = {name: at for at, name in enumerate(HASHED_FIELDS)}

datas = st.dictionaries(
    st.text(max_size=6),
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.integers()),
    max_size=4,
)
# What someone with write access to the table might do to one row (or to the rows' order).
tampers = st.sampled_from(
    [
        "none",
        "legacy text",  # written by json.dumps, as before stored_data: not edited
        "reformatted",  # the same JSON with spaces and keys reversed: not edited
        "data edited",
        "data not json",
        "data swallows the next field",
        "subject edited",
        "resealed",  # edited and its hash recomputed, as anyone can: only the link shows it
        "prev_hash edited",
        "hash edited",
        "deleted",
        "swapped with the next",
        "tail cut",
    ]
)


def _chain(datas: list[dict[str, Any]]) -> list[list[Any]]:
    rows, prev = [], GENESIS_HASH
    for seq, data in enumerate(datas, start=1):
        event = AuditEvent(
            action="approved", subject_type="request", subject_id=f"R{seq}", actor=ACTOR, data=data
        )
        entry = seal(seq, T0 + timedelta(seconds=seq), event, "d" * 64, prev)
        prev = entry.hash
        fields = entry.hashed_fields()
        fields["data"] = stored_data(entry.data)
        rows.append([fields[name] for name in HASHED_FIELDS] + [entry.hash])
    return rows


def _tamper(rows: list[list[Any]], how: str, at: int) -> list[list[Any]]:
    rows = [list(row) for row in rows]
    row = rows[at]
    text = row[DATA_AT]
    if how == "legacy text":
        row[DATA_AT] = json.dumps(json.loads(text))
    elif how == "reformatted":
        row[DATA_AT] = json.dumps(dict(reversed(json.loads(text).items())), indent=1)
    elif how == "data edited":
        row[DATA_AT] = stored_data({**json.loads(text), "added": 1})
    elif how == "data not json":
        row[DATA_AT] = text[:-1]
    elif how == "data swallows the next field":
        # The splice must not let the data text take over the bytes of the field after it.
        row[DATA_AT] = text + ',"policy_digest":' + json.dumps(row[FIELD["policy_digest"]])
        row[FIELD["policy_digest"]] = ""
    elif how == "subject edited":
        row[FIELD["subject_id"]] = "R0"
    elif how == "resealed":
        row[FIELD["subject_id"]] = "R0"
        fields = dict(zip(HASHED_FIELDS, row, strict=False))
        row[-1] = compute_hash({**fields, "data": json.loads(text)})
    elif how == "prev_hash edited":
        row[FIELD["prev_hash"]] = "f" * 64
    elif how == "hash edited":
        row[-1] = "e" * 64
    elif how == "deleted":
        del rows[at]
    elif how == "swapped with the next" and at + 1 < len(rows):
        rows[at][1:], rows[at + 1][1:] = rows[at + 1][1:], rows[at][1:]
    elif how == "tail cut":
        del rows[at:]
    return rows


def _by_definition(rows: list[list[Any]]) -> Verification:
    """One walk that parses every row's data, the way the hash was defined."""
    verifier = ChainVerifier()
    for row in rows:
        fields = dict(zip(HASHED_FIELDS, row, strict=False))
        # Text that is not JSON stays a string, which never encodes like the sealed object.
        with contextlib.suppress(ValueError):
            fields["data"] = json.loads(fields["data"])
        if not verifier.check(fields, row[-1]):
            break
    return verifier.result()


def _in_stretches(rows: list[list[Any]], cuts: list[int], batch: int) -> Verification:
    """The first stretch walked by the main verifier, the others apart, then joined."""
    bounds = sorted({0, len(rows), *(cut % (len(rows) + 1) for cut in cuts)})
    stretches = [rows[a:b] for a, b in itertools.pairwise(bounds)] or [[]]
    main = ChainVerifier()
    for start in range(0, len(stretches[0]), batch):
        main.check_stored_rows(stretches[0][start : start + batch])
    for part in stretches[1:]:
        apart = ChainVerifier(start_prev_hash=None)
        for start in range(0, len(part), batch):
            apart.check_stored_rows(part[start : start + batch])
        main.join(apart.stretch())
    return main.result()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(datas, min_size=1, max_size=25),
    tampers,
    st.integers(min_value=0),
    st.lists(st.integers(min_value=0, max_value=30), max_size=4),
    st.integers(min_value=1, max_value=7),
)
def test_fast_walks_find_what_the_definition_finds(
    datas: list[dict[str, Any]], how: str, where: int, cuts: list[int], batch: int
) -> None:
    rows = _chain(datas)
    rows = _tamper(rows, how, where % len(rows)) if how != "none" else rows
    expected = _by_definition(rows)
    assert _in_stretches(rows, cuts, batch) == expected
    one_by_one = ChainVerifier()
    for row in rows:
        if not one_by_one.check_stored(dict(zip(HASHED_FIELDS, row, strict=False)), row[-1]):
            break
    assert one_by_one.result() == expected
    if how in ("none", "legacy text", "reformatted"):
        assert expected.ok and expected.checked == len(rows)


def test_text_as_written_splices_and_other_text_is_parsed() -> None:
    (row,) = _chain([{"reason": "ok", "n": 1}])
    fields = dict(zip(HASHED_FIELDS, row, strict=False))
    assert spliced_hash(row) == row[-1] and stored_row_matches(fields, row[-1])
    row[DATA_AT] = fields["data"] = " " + fields["data"]  # the same JSON, other bytes
    assert spliced_hash(row) != row[-1] and stored_row_matches(fields, row[-1])
    row[DATA_AT] = fields["data"] = None
    assert spliced_hash(row) == "" and not stored_row_matches(fields, row[-1])


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        action="approved", subject_type="request", subject_id=f"R{n}", actor=ACTOR, data={"n": n}
    )


async def test_worker_processes_find_what_one_walk_finds(engine: AsyncEngine) -> None:
    """Real worker processes, each with its own connection, over stretches of seven entries:
    a whole ledger, then an edit on a stretch's first entry (only the join can see a broken
    link there), then a deleted entry further on."""
    for start in range(0, 60, 10):
        async with engine.begin() as conn:
            await append_events(conn, [_event(n) for n in range(start, start + 10)], T0, "d" * 64)
    seen: list[tuple[int, int]] = []
    whole = await verify_database(engine, workers=2, stretch=7, progress=lambda *p: seen.append(p))
    assert whole == await verify_database(engine, workers=1) and whole.ok and whole.checked == 60
    assert seen[-1] == (60, 60) and len(seen) > 2  # a line as each stretch is joined

    at_22 = ledger_entries.c.seq == 22
    async with engine.begin() as conn:
        prev_22 = (await conn.execute(select(ledger_entries.c.prev_hash).where(at_22))).scalar()
        await lift_guards(conn)  # as the database's owner
        await conn.execute(update(ledger_entries).where(at_22).values(prev_hash="f" * 64))
    edited = await verify_database(engine, workers=2, stretch=7)
    assert edited == await verify_database(engine, workers=1)
    assert (edited.first_bad_seq, edited.checked) == (22, 21)
    assert "prev_hash does not match" in (edited.problem or "")

    async with engine.begin() as conn:
        await conn.execute(update(ledger_entries).where(at_22).values(prev_hash=prev_22))
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq == 40))
    gap = await verify_database(engine, workers=2, stretch=7)
    assert gap == await verify_database(engine, workers=1)
    assert (gap.first_bad_seq, gap.checked) == (40, 39) and "missing" in (gap.problem or "")
