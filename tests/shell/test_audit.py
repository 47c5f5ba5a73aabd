"""The ledger: verification finds edits, deletions and cut tails; exports verify offline."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.export import read_export, run_export, run_verify, verify_export
from bot.audit.verify import verify_database
from bot.cli import main
from bot.storage.database import create_engine
from bot.storage.ledger import append_events
from bot.storage.tables import UtcDateTime, ledger_entries, metadata
from tests.audit.attacker import lift_guards
from workflows.ledger import AuditEvent, canonical_json, compute_hash, format_time, seal
from workflows.model import Actor

ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")
T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def _event(n: int, reason: str | None = None) -> AuditEvent:
    return AuditEvent(
        action="approved",
        subject_type="request",
        subject_id=f"R{n:08d}",
        actor=ACTOR,
        data={"reason": reason if reason is not None else f"reason {n}", "n": n},
    )


async def _fill(engine: AsyncEngine, count: int, per_transaction: int = 1000) -> None:
    for start in range(0, count, per_transaction):
        async with engine.begin() as conn:
            events = [_event(n) for n in range(start + 1, min(start + per_transaction, count) + 1)]
            await append_events(conn, events, T0 + timedelta(seconds=start), "d" * 64)


async def test_aud_02_an_edited_row_is_named(engine: AsyncEngine) -> None:
    await _fill(engine, 10_000)
    good = await verify_database(engine)
    assert good.ok and good.checked == 10_000 and good.last_good_seq == 10_000
    async with engine.begin() as conn:
        await lift_guards(conn)  # as the database's owner
        await conn.execute(
            update(ledger_entries)
            .where(ledger_entries.c.seq == 5000)
            .values(data=text("replace(data, 'reason', 'Reason')"))
        )
    broken = await verify_database(engine)
    assert not broken.ok and broken.first_bad_seq == 5000
    assert "edited" in (broken.problem or "")
    out = io.StringIO()
    assert await run_verify(str(engine.url.render_as_string(False)), None, out) == 1
    assert "ledger BROKEN at seq 5000" in out.getvalue()


async def test_aud_03_a_deleted_row_and_a_cut_tail_are_found(engine: AsyncEngine) -> None:
    await _fill(engine, 200, per_transaction=50)
    async with engine.begin() as conn:
        await lift_guards(conn)  # as the database's owner
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq > 190))
    tail = await verify_database(engine)
    assert (
        not tail.ok and tail.first_bad_seq == 191 and "removed from the end" in (tail.problem or "")
    )
    async with engine.begin() as conn:
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq == 100))
    gap = await verify_database(engine)
    assert not gap.ok and gap.first_bad_seq == 100 and "missing" in (gap.problem or "")


async def test_seq_stays_gap_free_when_a_transaction_rolls_back(engine: AsyncEngine) -> None:
    await _fill(engine, 3)
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await append_events(conn, [_event(4)], T0, "d" * 64)
            raise RuntimeError("the decision failed after its audit entry was written")
    await _fill(engine, 1)
    assert (await verify_database(engine)).ok
    async with engine.connect() as conn:
        seqs = list((await conn.execute(select(ledger_entries.c.seq))).scalars())
    assert sorted(seqs) == [1, 2, 3, 4]


async def test_verify_and_export_read_beside_a_writer_holding_sqlite_s_lock(
    tmp_path: Path,
) -> None:
    """`signoff audit verify` and `export` run beside a busy `serve`: on SQLite they read in
    deferred transactions, never waiting for (or taking) the write lock."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'signoff.db'}"
    writer = create_engine(url)
    try:
        async with writer.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await _fill(writer, 5)
        async with writer.begin() as conn:  # BEGIN IMMEDIATE: holds the write lock
            await append_events(conn, [_event(6)], T0, "d" * 64)
            out = io.StringIO()
            assert await run_verify(url, None, out) == 0
            assert "5 entries verified" in out.getvalue()
            assert (await _export(writer, "jsonl")).count("\n") == 5
    finally:
        await writer.dispose()


@given(reason=st.text())
def test_aud_08_canonical_hashing_is_stable(reason: str) -> None:
    event = _event(1, reason + "\x00\u2028\u202e")
    first = seal(1, T0, event, "d" * 64, "0" * 64)
    again = seal(1, T0, event, "d" * 64, "0" * 64)
    assert first == again
    round_tripped = json.loads(json.dumps(first.model_dump()))
    assert compute_hash({k: v for k, v in round_tripped.items() if k != "hash"}) == first.hash
    assert canonical_json(first.data) == canonical_json(round_tripped["data"])


def test_aud_08_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        canonical_json({"score": 0.1})


async def test_aud_09_times_are_stored_and_read_in_utc(engine: AsyncEngine) -> None:
    scratch = MetaData()
    times = Table(
        "aud09_times", scratch, Column("id", Integer, primary_key=True), Column("at", UtcDateTime)
    )
    async with engine.begin() as conn:
        await conn.run_sync(scratch.create_all)
        pacific = datetime(2026, 11, 1, 13, 30, 45, tzinfo=timezone(timedelta(hours=-8)))
        await conn.execute(insert(times).values(id=1, at=pacific))
        read = (await conn.execute(select(times.c.at))).scalar_one()
    assert read == datetime(2026, 11, 1, 21, 30, 45, tzinfo=UTC) and read.utcoffset() == timedelta(
        0
    )
    assert format_time(read) == "2026-11-01T21:30:45.000000Z"
    async with engine.begin() as conn:
        with pytest.raises(Exception, match="naive"):
            await conn.execute(insert(times).values(id=2, at=datetime(2026, 11, 1, 12, 0)))


NASTY = [
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\tfoo",
    "\x00x",
    "'quoted",
    'says "hi", twice\nand a newline',
]


async def _export(engine: AsyncEngine, fmt: str, since: str | None = None) -> str:
    out = io.StringIO()
    url = engine.url.render_as_string(hide_password=False)
    assert await run_export(url, fmt, since, out) == 0
    return out.getvalue()


async def test_aud_10_csv_cells_cannot_become_formulas(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.begin() as conn:
        await append_events(conn, [_event(n, r) for n, r in enumerate(NASTY, 1)], T0, "d" * 64)
    exported = await _export(engine, "csv")
    path = tmp_path / "ledger.csv"
    path.write_text(exported, encoding="utf-8", newline="")
    import csv

    rows = list(csv.reader(io.StringIO(exported)))
    notes = [row[-1] for row in rows[1:]]
    for note, original in zip(notes, NASTY, strict=True):
        assert note == ("'" + original if original[0] in "=+-@\t\x00'" else original)
    assert [e.data["reason"] for e in read_export(path)] == NASTY
    assert verify_export(path).ok


async def test_aud_11_jsonl_verifies_offline_and_a_cut_file_names_its_last_seq(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _fill(engine, 30, per_transaction=10)
    exported = await _export(engine, "jsonl")
    assert len(exported.splitlines()) == 30
    whole = tmp_path / "whole.jsonl"
    whole.write_text(exported, encoding="utf-8")
    assert verify_export(whole).ok

    cut = tmp_path / "cut.jsonl"
    cut.write_text(exported[: len(exported) - 40], encoding="utf-8")
    out = io.StringIO()
    assert await run_verify("unused://", str(cut), out) == 1
    assert "last complete seq 29" in out.getvalue()

    edited = tmp_path / "edited.jsonl"
    edited.write_text(exported.replace('"reason 7"', '"reason 8"'), encoding="utf-8")
    out = io.StringIO()
    assert await run_verify("unused://", str(edited), out) == 1
    assert "BROKEN at seq 7" in out.getvalue()

    later = tmp_path / "later.jsonl"
    later.write_text(
        await _export(engine, "jsonl", format_time(T0 + timedelta(seconds=10))), "utf-8"
    )
    result = verify_export(later)
    assert result.ok and result.checked == 20 and result.last_good_seq == 30


async def test_export_rejects_a_bad_since(engine: AsyncEngine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    assert await run_export(url, "jsonl", "last tuesday", io.StringIO()) == 2


def test_audit_verify_takes_a_worker_count_of_at_least_one(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as refused:
            main(["audit", "verify", "--workers", bad])
        assert refused.value.code == 2
        assert f"{bad!r} is not a whole number of at least 1" in capsys.readouterr().err
    assert main(["audit", "verify", "--workers", "1"]) == 0
    assert "ledger OK: 0 entries verified" in capsys.readouterr().out
