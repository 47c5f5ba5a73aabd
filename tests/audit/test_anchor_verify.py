"""AUD-04, AUD-05: `signoff audit verify --anchors` holds the chain to its RFC 3161 anchors.
Each attack by someone who owns the database (guards dropped first) verifies as a chain and
is caught by the anchors and named by seq: a cut tail, a rewritten and re-hashed chain,
swapped rows, a changed timestamp, a removed anchor and a forged token; an untampered ledger
verifies, also from an export and its anchors alone (AUD-14: the export is in the ledger)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.auditor import Audit, audit_database, run_audit
from bot.audit.evidence import run_recorded_export
from bot.audit.tsa import load_roots, request_token, token_digest
from bot.audit.verify import verify_database
from bot.cli import main
from bot.storage.ledger import append_events
from bot.storage.tables import ledger_anchors, ledger_entries
from tests.audit.attacker import cut_tail, lift_guards, rewrite_chain
from tests.audit.conftest import anchorer_for, openssl_ts_verify
from tests.harness import Harness
from tests.tsa_standin import RunningTsa
from workflows.ledger import AuditEvent
from workflows.model import Actor

ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")


@dataclass
class Anchored:
    """A ledger of 27 entries anchored at seq 10 and 21 (their `anchored` entries at 11, 22)."""

    engine: AsyncEngine
    url: str
    tsa: RunningTsa

    @property
    def roots(self) -> list[Any]:
        return load_roots(self.tsa.roots)

    async def audit(self, expect: tuple[int, str] | None = None) -> Audit:
        return await audit_database(self.engine, self.roots, expect)

    async def hash_at(self, seq: int) -> str:
        return {e.seq: e.hash for e in await Harness(self.engine).ledger()}[seq]


async def _append(h: Harness, count: int) -> None:
    events = [
        AuditEvent(
            action="approved",
            subject_type="request",
            subject_id=f"R{n}",
            actor=ACTOR,
            data={"reason": f"reason {n}"},
        )
        for n in range(count)
    ]
    async with h.engine.begin() as conn:
        await append_events(conn, events, h.clock(), "d" * 64)
    h.clock.advance(minutes=1)


@pytest.fixture
async def anchored(engine: AsyncEngine, database_url: str, tsa: RunningTsa) -> Anchored:
    h = Harness(engine)
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=10)
    await _append(h, 10)
    assert (made := await anchorer.run()) and made.seq == 10
    await _append(h, 10)
    assert (made := await anchorer.run()) and made.seq == 21
    await _append(h, 5)
    return Anchored(engine, database_url, tsa)


def _named(audit: Audit) -> list[tuple[int, str]]:
    return [(f.seq, f.problem) for f in audit.anchors.findings]


async def test_an_untampered_anchored_ledger_verifies(anchored: Anchored) -> None:
    audit = await anchored.audit((21, await anchored.hash_at(21)))
    assert audit.ok and audit.chain.checked == 27 and audit.anchors.tokens == 2
    out = io.StringIO()
    code = await run_audit(
        anchored.url, None, None, str(anchored.tsa.roots), f"21:{await anchored.hash_at(21)}", out
    )
    assert code == 0, out.getvalue()
    assert "ledger OK: 27 entries verified" in out.getvalue()
    assert "anchors OK: 2 tokens verified" in out.getvalue()


async def test_aud_04_a_cut_tail_passes_the_chain_and_fails_the_anchors(
    anchored: Anchored,
) -> None:
    async with anchored.engine.begin() as conn:
        await cut_tail(conn, 15)
    assert (await verify_database(anchored.engine)).ok  # the known limit of a chain
    audit = await anchored.audit()
    assert not audit.ok
    ((seq, problem),) = _named(audit)
    assert seq == 16 and "seq 21 was anchored" in problem and "removed from the end" in problem


async def test_aud_04_a_tail_cut_back_to_the_newest_anchor_is_named_too(
    anchored: Anchored,
) -> None:
    """Every anchor still matches; the entry recording the newest one went with the tail."""
    async with anchored.engine.begin() as conn:
        await cut_tail(conn, 21)
    assert (await verify_database(anchored.engine)).ok
    ((seq, problem),) = _named(await anchored.audit())
    assert seq == 22 and "no entry records the anchor over seq 21" in problem


async def test_aud_05_a_rewritten_rehashed_chain_fails_at_the_first_anchor_after_it(
    anchored: Anchored,
) -> None:
    def edit(rows: list[dict[str, Any]]) -> None:
        rows[4]["data"] = {"reason": "approved after all"}

    async with anchored.engine.begin() as conn:
        await rewrite_chain(conn, edit)
    assert (await verify_database(anchored.engine)).ok
    named = _named(await anchored.audit())
    assert [seq for seq, _ in named] == [10, 21]
    assert "rewritten after seq 0 and at or before seq 10" in named[0][1]


async def test_swapped_rows_are_caught_with_the_seq_range(anchored: Anchored) -> None:
    def swap(rows: list[dict[str, Any]]) -> None:
        for name in ("subject_id", "data"):
            rows[12][name], rows[13][name] = rows[13][name], rows[12][name]

    async with anchored.engine.begin() as conn:
        await rewrite_chain(conn, swap)
    assert (await verify_database(anchored.engine)).ok
    ((seq, problem),) = _named(await anchored.audit())
    assert seq == 21 and "rewritten after seq 10 and at or before seq 21" in problem


async def test_a_changed_timestamp_is_caught(anchored: Anchored) -> None:
    def backdate(rows: list[dict[str, Any]]) -> None:
        rows[16]["at"] = "2026-01-01T00:00:00.000000Z"

    async with anchored.engine.begin() as conn:
        await rewrite_chain(conn, backdate)
    ((seq, problem),) = _named(await anchored.audit())
    assert seq == 21 and "not the one anchored" in problem


async def test_a_removed_anchor_is_named_from_the_ledger_s_own_record(anchored: Anchored) -> None:
    async with anchored.engine.begin() as conn:
        await lift_guards(conn)
        await conn.execute(delete(ledger_anchors).where(ledger_anchors.c.seq == 21))
    ((seq, problem),) = _named(await anchored.audit())
    assert seq == 21 and "entry seq 22 records" in problem and "an anchor was removed" in problem


async def test_a_forged_or_untrusted_token_is_refused(
    anchored: Anchored, other_tsa: RunningTsa
) -> None:
    hash_10 = await anchored.hash_at(10)
    async with aiohttp.ClientSession() as session:
        foreign, _ = await request_token(
            session, other_tsa.url, hash_10, load_roots(other_tsa.roots)
        )
    async with anchored.engine.begin() as conn:
        await lift_guards(conn)
        await conn.execute(
            update(ledger_anchors)
            .where(ledger_anchors.c.seq == 10)
            .values(token=foreign, token_sha256=token_digest(foreign))
        )
    named = _named(await anchored.audit())
    assert [seq for seq, _ in named] == [10, 10]  # untrusted, and not the token recorded
    assert "does not verify against the trusted roots" in named[0][1] + named[1][1]
    # A byte of a trusted token changed: its signature no longer holds.
    async with anchored.engine.begin() as conn:
        tokens = (await conn.execute(ledger_anchors.select())).all()
        token = bytearray(tokens[1].token)
        token[-40] ^= 1
        await conn.execute(
            update(ledger_anchors)
            .where(ledger_anchors.c.seq == 21)
            .values(token=bytes(token), token_sha256=token_digest(bytes(token)))
        )
    assert 21 in [seq for seq, _ in _named(await anchored.audit())]


async def test_a_head_copied_from_the_channel_is_held_to(anchored: Anchored) -> None:
    wrong = "e" * 64
    ((seq, problem),) = _named(await anchored.audit((21, wrong)))
    assert seq == 21 and "not the head you expect" in problem
    ((seq, problem),) = _named(await anchored.audit((40, wrong)))
    assert seq == 28 and "before the head you expect at seq 40" in problem


async def test_the_cli_names_the_attack_and_exits_1(
    anchored: Anchored, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with anchored.engine.begin() as conn:
        await cut_tail(conn, 15)
    monkeypatch.setenv("DATABASE_URL", anchored.url)
    monkeypatch.setenv("SIGNOFF_TSA_ROOTS", str(anchored.tsa.roots))
    await anchored.engine.dispose()
    assert await _cli("audit", "verify") == 0  # the chain alone passes
    assert await _cli("audit", "verify", "--anchors") == 1
    out = capsys.readouterr().out
    assert "anchors FAILED at seq 16: the ledger ends at seq 15, but seq 21 was anchored" in out
    assert await _cli("audit", "verify", "--anchors", "--expect-head", "21:nothex") == 2


async def _cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_an_export_and_its_anchors_verify_without_the_database(
    anchored: Anchored, tmp_path: Path
) -> None:
    folder = tmp_path / "evidence"
    out = io.StringIO()
    assert await run_recorded_export(anchored.url, "jsonl", None, out, "d" * 64, folder) == 0
    ledger, anchors = tmp_path / "ledger.jsonl", folder / "anchors.jsonl"
    ledger.write_bytes(out.getvalue().encode("utf-8"))
    # AUD-14: the export is the ledger's next entry, with the digest of what it wrote.
    last = (await Harness(anchored.engine).ledger())[-1]
    assert (last.seq, last.action, last.data["upto_seq"]) == (28, "exported", 27)
    assert last.data["sha256"] == _sha256(ledger) and last.data["anchors"] == 2

    report = io.StringIO()
    assert (
        await run_audit("", str(ledger), str(anchors), str(anchored.tsa.roots), None, report) == 0
    )
    assert "anchors OK: 2 tokens verified" in report.getvalue()
    # OpenSSL alone accepts each exported token over its hash file.
    for token in sorted(folder.glob("*.tsr")):
        checked = openssl_ts_verify(token.with_suffix(".hash"), token, anchored.tsa.roots)
        assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr
    # The standard-library script, run with no site-packages, checks chain and anchors.
    script = folder / "check_chain.py"
    good = _stdlib_check(script, ledger, anchors)
    assert good.returncode == 0 and "OK: 27 entries, head seq 27" in good.stdout, good.stderr
    # An export cut back before the newest anchor fails both checks, naming the seq.
    lines = ledger.read_text().splitlines(keepends=True)
    (tmp_path / "cut.jsonl").write_text("".join(lines[:15]))
    cut = io.StringIO()
    roots = str(anchored.tsa.roots)
    assert await run_audit("", str(tmp_path / "cut.jsonl"), str(anchors), roots, None, cut) == 1
    assert "anchors FAILED at seq 16" in cut.getvalue()
    bad = _stdlib_check(script, tmp_path / "cut.jsonl", anchors)
    assert bad.returncode == 1 and "seq 21 was anchored but the ledger ends at seq 15" in bad.stdout
    # Cut back to the newest anchor itself: the entry recording it is what is missing.
    (tmp_path / "to21.jsonl").write_text("".join(lines[:21]))
    to21 = io.StringIO()
    assert await run_audit("", str(tmp_path / "to21.jsonl"), str(anchors), roots, None, to21) == 1
    assert "anchors FAILED at seq 22: no entry records the anchor over seq 21" in to21.getvalue()
    script_to21 = _stdlib_check(script, tmp_path / "to21.jsonl", anchors)
    assert script_to21.returncode == 1 and "seq 21: no entry records" in script_to21.stdout
    # An export of a period verifies from its first entry on, saying that link is trusted.
    (tmp_path / "period.jsonl").write_text("".join(lines[12:27]))
    period = io.StringIO()
    assert (
        await run_audit("", str(tmp_path / "period.jsonl"), str(anchors), roots, None, period) == 0
    )
    assert "entries start at seq 13" in period.getvalue() and "anchors OK" in period.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stdlib_check(script: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    """The script as an auditor runs it: isolated, without site-packages."""
    command = [sys.executable, "-I", "-S", str(script), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


async def test_entries_archived_up_to_an_anchor_still_verify_from_it(anchored: Anchored) -> None:
    """The archive procedure of docs/operations.md: cut at an anchored seq, verify from it."""
    async with anchored.engine.begin() as conn:
        await lift_guards(conn)  # the tables' owner, as the procedure says
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq <= 10))
    audit = await anchored.audit()
    assert audit.ok and audit.chain.checked == 17 and audit.anchors.tokens == 2
    # A cut that is not at an anchor leaves nothing to start from.
    async with anchored.engine.begin() as conn:
        await conn.execute(delete(ledger_entries).where(ledger_entries.c.seq <= 12))
    audit = await anchored.audit()
    assert not audit.ok and "no verified anchor covers seq 12" in (audit.chain.problem or "")
