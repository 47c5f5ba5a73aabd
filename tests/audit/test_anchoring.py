"""AUD-07: the ledger head is anchored after every N entries and on a schedule, by a real
RFC 3161 authority over HTTP; each anchor is stored, recorded in the ledger, posted to the
governance channel in Slack and copied where the operator points; an authority that is down
is retried and counted and never holds up a decision."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.auditor import audit_database, run_audit
from bot.audit.tsa import load_roots, token_digest
from bot.scheduling.anchoring import AnchorConfig
from bot.scheduling.scheduler import ANCHOR_JOB_ID, JOB_ID, SCHEDULER, scheduler_mount
from bot.server import create_app
from bot.storage.anchors import all_anchors
from bot.storage.ledger import append_events
from bot.storage.tables import ledger_entries
from tests.audit.conftest import anchorer_for, openssl_ts_verify
from tests.console.site import console_site
from tests.harness import Harness
from tests.slack_world import SlackWorld
from tests.teams_world import GOV_CHANNEL, TeamsWorld
from tests.tsa_standin import RunningTsa
from workflows.ledger import AuditEvent
from workflows.model import Actor, Verdict

ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")


async def _append(h: Harness, count: int) -> None:
    events = [
        AuditEvent(
            action="commented", subject_type="request", subject_id=f"R{n}", actor=ACTOR, data={}
        )
        for n in range(count)
    ]
    async with h.engine.begin() as conn:
        await append_events(conn, events, h.clock(), "d" * 64)


def _failures(h: Harness, url: str, reason: str) -> float:
    labels = {"tsa": url, "reason": reason}
    return h.metrics.registry.get_sample_value("signoff_anchor_failures_total", labels) or 0.0


async def test_aud_07_anchored_after_every_n_entries_and_posted_to_the_governance_channel(
    world: SlackWorld, tsa: RunningTsa
) -> None:
    h = world.h
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=5, channel="ai-governance")
    await _append(h, 4)
    assert await anchorer.run() is None and tsa.standin.answered == 0
    await _append(h, 1)
    made = await anchorer.run()
    assert made is not None and made.seq == 5 and tsa.standin.answered == 1
    entries = await h.ledger()
    assert made.hash == entries[4].hash
    # Stored with the seq and hash it covers; the ledger records the round right after.
    async with h.engine.connect() as conn:
        (stored,) = await all_anchors(conn)
    assert (stored.seq, stored.hash, stored.tsa) == (5, entries[4].hash, tsa.url)
    assert stored.token_sha256 == token_digest(stored.token)
    record = entries[5]
    assert (record.seq, record.action, record.subject_id) == (6, "anchored", "5")
    assert record.data["tokens"][0]["sha256"] == stored.token_sha256
    # The copy outside: the governance channel hears seq, hash, time and the token's digest.
    await h.settle()
    posts = world.standin.called("chat.postMessage")
    (posted,) = [c for c in posts if c.args["channel"] == "C0GOV"]
    text = posted.args["text"]
    assert "seq 5" in text and made.hash in text and stored.token_sha256 in text
    assert stored.stamped_at in text and f"--expect-head 5:{made.hash}" in text
    # Its own entry does not make the next anchor due; four more entries do not either.
    await _append(h, 3)
    assert await anchorer.run() is None
    await _append(h, 1)
    again = await anchorer.run()
    assert again is not None and again.seq == 10 and tsa.standin.answered == 2


async def test_aud_07_anchored_on_schedule(engine: object, tsa: RunningTsa) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1000, seconds=3600)
    assert h.metrics.registry.get_sample_value("signoff_anchor_age_seconds") != 0  # NaN: none
    await _append(h, 3)
    assert await anchorer.run() is None  # not an hour yet
    h.clock.advance(seconds=3600)
    made = await anchorer.run()
    assert made is not None and made.seq == 3
    h.clock.advance(seconds=125)
    assert h.metrics.registry.get_sample_value("signoff_anchor_age_seconds") == 125
    # An hour with nothing but the anchor's own entry: nothing new to anchor.
    h.clock.advance(hours=2)
    assert await anchorer.run() is None and tsa.standin.answered == 1
    await _append(h, 1)
    assert await anchorer.run() is not None and tsa.standin.answered == 2


async def test_aud_07_an_authority_down_is_retried_and_counted_and_decisions_go_on(
    engine: object, tsa: RunningTsa
) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1, attempts=3)
    tsa.standin.down = True
    request = await h.open()
    assert await anchorer.run() is None
    assert _failures(h, tsa.url, "unavailable") == 3 and tsa.standin.refused == 3
    assert (await h.answer(request, "dan", Verdict.NO_OBJECTION)).ok  # decisions go on
    # Back, after two more refusals: the retries within one run reach it.
    tsa.standin.down, tsa.standin.fail_next = False, 2
    made = await anchorer.run()
    assert made is not None and _failures(h, tsa.url, "unavailable") == 5
    assert await h.chain_ok()


async def test_aud_07_a_slow_authority_never_holds_a_decision(
    engine: object, tsa: RunningTsa
) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1)
    request = await h.open()
    tsa.standin.delay = 1.5
    anchoring = asyncio.ensure_future(anchorer.run())
    await asyncio.sleep(0.2)  # the authority is being asked
    started = time.monotonic()
    assert (await h.answer(request, "dan", Verdict.NO_OBJECTION)).ok
    assert time.monotonic() - started < 1.0 and not anchoring.done()
    made = await anchoring
    # The anchor covers the head it asked about; the decision came after it.
    assert made is not None
    actions = [e.action for e in await h.ledger()]
    assert actions[made.seq - 1] != "consulted" and "consulted" in actions[made.seq :]
    assert await h.chain_ok()


async def test_an_untrusted_authority_s_token_is_refused_and_counted(
    engine: object, tsa: RunningTsa, other_tsa: RunningTsa
) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    anchorer = anchorer_for(h.runtime(), h.clock, other_tsa, roots=tsa, every=1, attempts=2)
    await _append(h, 1)
    assert await anchorer.run() is None
    assert _failures(h, other_tsa.url, "token") == 2 and other_tsa.standin.answered == 2
    async with h.engine.connect() as conn:
        assert await all_anchors(conn) == []
        actions = (await conn.execute(select(ledger_entries.c.action))).scalars().all()
    assert "anchored" not in actions


async def test_the_operator_s_copy_in_a_file_and_in_a_write_once_directory(
    engine: object, tsa: RunningTsa, tmp_path: Path
) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    log = tmp_path / "anchors.jsonl"
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1, copy_to=log)
    await _append(h, 1)
    first = await anchorer.run()
    await _append(h, 1)
    second = await anchorer.run()
    assert first and second
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["seq"], r["hash"]) for r in lines] == [(1, first.hash), (3, second.hash)]
    assert lines[0]["tokens"][0]["sha256"] == first.anchors[0].token_sha256

    folder = tmp_path / "worm"
    folder.mkdir()
    anchorer.config = anchorer_for(h.runtime(), h.clock, tsa, every=1, copy_to=folder).config
    await _append(h, 1)
    third = await anchorer.run()
    assert third is not None
    token = folder / f"anchor-{third.seq:012d}-1.tsr"
    assert json.loads((folder / f"anchor-{third.seq:012d}.json").read_text())["hash"] == third.hash
    # OpenSSL alone accepts the copied token over the anchored hash, against the roots.
    (tmp_path / "head.txt").write_text(third.hash)
    checked = openssl_ts_verify(tmp_path / "head.txt", token, tsa.roots)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout
    (tmp_path / "head.txt").write_text(first.hash)
    refused = openssl_ts_verify(tmp_path / "head.txt", token, tsa.roots)
    assert refused.returncode != 0


async def test_aud_07_the_server_s_scheduler_runs_the_anchoring_job(
    engine: object, tsa: RunningTsa
) -> None:
    h = Harness(engine)  # type: ignore[arg-type]
    config = AnchorConfig((tsa.url,), load_roots(tsa.roots), every=2, seconds=0.05, backoff=0.01)
    app = create_app(h.runtime(), (scheduler_mount(3600, h.clock, config),))
    await _append(h, 2)
    async with TestServer(app):
        assert sorted(app[SCHEDULER].jobs()) == sorted([JOB_ID, ANCHOR_JOB_ID])
        for _ in range(200):
            async with h.engine.connect() as conn:
                if await all_anchors(conn):
                    break
            await asyncio.sleep(0.02)
    # The sweep beside it records first reviews too, which later runs may anchor as well.
    audit = await audit_database(h.engine, load_roots(tsa.roots))
    assert audit.ok and audit.anchors.tokens >= 1, audit
    assert h.metrics.registry.get_sample_value("signoff_anchor_age_seconds") == 0


async def test_the_console_overview_shows_the_newest_anchor_and_its_age(
    engine: AsyncEngine, tsa: RunningTsa
) -> None:
    async with console_site(engine) as (h, browser):
        overview = await browser.get("/")
        assert "not outside the database yet" in overview
        anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1)
        await _append(h, 2)
        assert (made := await anchorer.run()) is not None
        h.clock.advance(minutes=90)
        overview = await browser.get("/")
    assert f"at entry {made.seq}, 90m ago" in overview


async def test_aud_07_the_governance_channel_in_teams_gets_the_anchor(
    teams: TeamsWorld, tsa: RunningTsa
) -> None:
    h = teams.h
    await teams.say("soo", "help")  # Signoff learns the tenant's service URL, as in use
    anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=1, channel="ai-governance")
    await _append(h, 1)
    made = await anchorer.run()
    assert made is not None
    await h.settle()
    (posted,) = [c for c in teams.connector.posts(GOV_CHANNEL) if "anchored" in c.body["text"]]
    text = posted.body["text"]
    assert f"seq {made.seq}" in text and made.hash in text
    assert made.anchors[0].token_sha256 in text


async def test_the_console_s_evidence_pack_carries_the_period_s_anchors(
    engine: AsyncEngine, tsa: RunningTsa, tmp_path: Path
) -> None:
    async with console_site(engine) as (h, browser):
        anchorer = anchorer_for(h.runtime(), h.clock, tsa, every=2)
        await _append(h, 2)
        assert (made := await anchorer.run()) is not None
        await _append(h, 1)
        await browser.act_as("lena")  # the console's auditor
        async with browser.client.post(
            "/ledger/evidence", data={"csrf": await browser.csrf()}
        ) as response:
            assert response.status == 200
            data = await response.read()
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        files = {name: pack.read(name) for name in pack.namelist()}
    token = files["anchors/anchor-2-1.tsr"]
    assert token == made.anchors[0].token and b"openssl ts -verify" in files["anchors/README.txt"]
    for name in ("ledger.jsonl", "anchors.jsonl"):
        (tmp_path / name).write_bytes(files[name if name == "ledger.jsonl" else f"anchors/{name}"])
    report = io.StringIO()
    roots = str(tsa.roots)
    ledger, anchors = str(tmp_path / "ledger.jsonl"), str(tmp_path / "anchors.jsonl")
    assert await run_audit("", ledger, anchors, roots, None, report) == 0, report.getvalue()
