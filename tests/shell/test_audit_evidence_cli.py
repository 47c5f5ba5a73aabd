"""`signoff audit evidence`: the console's evidence pack from the command line, recorded in
the ledger like the console's button, and verifiable on its own."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import Harness
from tests.serve_process import signoff

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "examples" / "policy.yaml")


async def test_the_pack_holds_the_period_verifies_and_is_recorded(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    h = Harness(engine)
    request_id = await h.open("soo", system="doc-search")
    assert (await h.answer(request_id, "mina", comment="fine")).ok
    before = await h.ledger()

    done = signoff(
        tmp_path, "audit", "evidence", "-o", "pack.zip",
        DATABASE_URL=database_url, SIGNOFF_POLICY=POLICY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"entries {before[0].seq}..{before[-1].seq}" in done.stderr
    with zipfile.ZipFile(tmp_path / "pack.zip") as pack:
        names = set(pack.namelist())
        assert {"ledger.jsonl", "decisions.csv", "manifest.json", "README.txt"} <= names
        (tmp_path / "ledger.jsonl").write_bytes(pack.read("ledger.jsonl"))
        manifest = json.loads(pack.read("manifest.json"))
        assert request_id in pack.read("decisions.csv").decode()
    exported = (tmp_path / "ledger.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in exported] == [e.seq for e in before]
    assert manifest["ledger"]["last_hash"] == before[-1].hash

    checked = signoff(tmp_path, "audit", "verify", "--file", "ledger.jsonl")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    recorded = (await h.ledger())[-1]
    assert (recorded.action, recorded.actor_platform) == ("exported", "cli")


def test_a_period_that_ends_before_it_starts_is_refused(tmp_path: Path) -> None:
    done = signoff(tmp_path, "audit", "evidence", "--since", "2026-12-02", "--until", "2026-12-01")
    assert done.returncode == 2 and "--until must come after --since" in done.stderr
    assert not list(tmp_path.glob("*.zip"))
    bad = signoff(tmp_path, "audit", "evidence", "--since", "yesterday")
    assert bad.returncode == 2 and "is not a date (YYYY-MM-DD)" in bad.stderr
