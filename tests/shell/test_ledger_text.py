"""The ledger's text as readers other than ours see it: JSONL lines that no reader splits, and
JSON objects that no two readers can read differently."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.export import run_export, run_verify, verify_export
from bot.audit.verify import verify_database
from bot.storage.ledger import append_events
from bot.storage.tables import ledger_entries
from tests.audit.attacker import lift_guards
from workflows.ledger import AuditEvent
from workflows.model import Actor

ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")
T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
# Each ends a line for some reader: str.splitlines, JavaScript, many editors and log shippers.
SPLITTERS = ["\u2028", "\u2029", "\x85", "\x80", "\x9b", "\x9f", "\x1c", "\x1e", "\x0b", "\x0c"]


def _event(n: int, reason: str) -> AuditEvent:
    return AuditEvent(
        action="rejected",
        subject_type="request",
        subject_id=f"R{n:08d}",
        actor=ACTOR,
        data={"reason": reason, "n": n, "to": {"who": "mina"}},
    )


async def _append(engine: AsyncEngine, reasons: list[str]) -> None:
    async with engine.begin() as conn:
        events = [_event(n, reason) for n, reason in enumerate(reasons, start=1)]
        await append_events(conn, events, T0, "d" * 64)


async def _export(engine: AsyncEngine, fmt: str) -> str:
    out = io.StringIO()
    assert await run_export(engine.url.render_as_string(hide_password=False), fmt, None, out) == 0
    return out.getvalue()


async def test_item_8_a_jsonl_export_escapes_every_character_that_ends_a_line_somewhere(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    reasons = [f"before{char}after" for char in SPLITTERS] + ["all" + "".join(SPLITTERS)]
    await _append(engine, reasons)
    exported = await _export(engine, "jsonl")

    lines = exported.splitlines()
    assert len(lines) == len(reasons)
    assert [json.loads(line)["data"]["reason"] for line in lines] == reasons
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(reasons) + 1))
    path = tmp_path / "ledger.jsonl"
    path.write_text(exported, encoding="utf-8")
    result = verify_export(path)
    assert result.ok and result.checked == len(reasons)


async def test_item_8_a_ledger_row_whose_data_holds_a_key_twice_fails_verification_at_its_seq(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _append(engine, [f"reason {n}" for n in range(1, 11)])
    # The last "reason" is the sealed one, so a reader keeping the last value re-hashes to the
    # sealed hash; a reader keeping the first reads "approved after all".
    forged = '{"n":5,"reason":"approved after all","reason":"reason 5","to":{"who":"mina"}}'
    async with engine.begin() as conn:
        await lift_guards(conn)  # as the database's owner
        await conn.execute(
            update(ledger_entries).where(ledger_entries.c.seq == 5).values(data=forged)
        )

    result = await verify_database(engine, workers=1)
    assert not result.ok and result.first_bad_seq == 5 and result.last_good_seq == 4
    assert "'reason' twice" in (result.problem or "")
    out = io.StringIO()
    assert await run_verify(engine.url.render_as_string(hide_password=False), None, out) == 1
    assert "ledger BROKEN at seq 5" in out.getvalue() and "'reason' twice" in out.getvalue()

    # The export carries the row as the database holds it, so the offline check finds it too.
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"ledger.{fmt}"
        path.write_text(await _export(engine, fmt), encoding="utf-8", newline="")
        out = io.StringIO()
        assert await run_verify("unused://", str(path), out) == 1
        assert f"export {path} BROKEN at seq 5" in out.getvalue()
        assert "'reason' twice" in out.getvalue()


async def test_item_8_an_export_edited_to_hold_a_key_twice_fails_offline_verification_at_its_seq(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _append(engine, [f"reason {n}" for n in range(1, 11)])
    lines = (await _export(engine, "jsonl")).splitlines()
    # Inside the data, nested, and among the entry's own fields.
    edits = {
        3: ('"to": {"who": "mina"}', '"to": {"who": "soo", "who": "mina"}', "'who' twice"),
        7: ('"seq": 7', '"seq": 7, "seq": 7', "'seq' twice"),
    }
    for seq, (old, new, problem) in edits.items():
        assert old in lines[seq - 1]
        edited = [line.replace(old, new) if n == seq else line for n, line in enumerate(lines, 1)]
        path = tmp_path / f"edited-{seq}.jsonl"
        path.write_text("\n".join(edited) + "\n", encoding="utf-8")
        result = verify_export(path)
        assert not result.ok and result.first_bad_seq == seq and problem in (result.problem or "")

    rows = list(csv.reader(io.StringIO(await _export(engine, "csv"))))
    data_at = rows[0].index("data")
    rows[4][data_at] = rows[4][data_at].replace('"n":4', '"n":3,"n":4')
    path = tmp_path / "edited.csv"
    edited_csv = io.StringIO()
    csv.writer(edited_csv, lineterminator="\r\n").writerows(rows)
    path.write_text(edited_csv.getvalue(), encoding="utf-8", newline="")
    result = verify_export(path)
    assert not result.ok and result.first_bad_seq == 4 and "'n' twice" in (result.problem or "")
