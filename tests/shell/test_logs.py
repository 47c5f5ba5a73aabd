"""LOG_FORMAT through the `signoff` command: one JSON object per line, or text for people."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bot.policy.source import PolicyHolder
from bot.storage.database import create_engine
from tests.conftest import EXAMPLE_POLICY
from tests.harness import Harness
from tests.serve_process import _env, _free_port, signoff

BAD_POLICY = EXAMPLE_POLICY.read_text(encoding="utf-8").replace("tier: high", "tier: extreme", 1)


def _objects(stderr: str) -> list[dict[str, object]]:
    lines = stderr.splitlines()
    assert lines, "nothing was logged"
    for line in lines:
        assert line.startswith("{"), f"not a JSON object: {line!r}"
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in objects)
    return objects


def test_log_format_json_writes_one_json_object_per_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY, encoding="utf-8")
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    done = signoff(
        tmp_path, "serve", LOG_FORMAT="json", SIGNOFF_POLICY=str(bad), PORT=str(_free_port())
    )
    assert done.returncode == 1
    records = _objects(done.stderr)
    assert {"time", "level", "logger", "message"} <= set(records[0])
    messages = [str(r["message"]) for r in records]
    assert any(m.startswith(f"{bad}:") and "extreme" in m for m in messages), messages
    assert any(m.startswith("refusing to start") for m in messages)
    assert {r["level"] for r in records} == {"ERROR"} and records[0]["logger"] == "signoff"


async def test_a_logged_traceback_stays_inside_its_json_object(tmp_path: Path) -> None:
    assert signoff(tmp_path, "db", "upgrade").returncode == 0
    engine = create_engine(_env(tmp_path)["DATABASE_URL"])
    try:
        h = Harness(engine, policies=PolicyHolder(EXAMPLE_POLICY))  # type: ignore[arg-type]
        broken = await h.open("soo", system="credit-scoring")
        await h.settle()
    finally:
        await engine.dispose()
    with sqlite3.connect(tmp_path / "signoff.db") as db:
        db.execute("UPDATE approval_requests SET state = '{}' WHERE id = ?", (broken,))
    done = signoff(
        tmp_path, "sweep", "--now", "2026-11-02T13:00:00Z",
        LOG_FORMAT="json", SIGNOFF_POLICY=str(EXAMPLE_POLICY),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    errors = [r for r in _objects(done.stderr) if r["level"] == "ERROR"]
    assert len(errors) == 1, [(e["logger"], e["message"]) for e in errors]
    [failure] = errors
    assert str(failure["message"]).startswith(f"sweep: request {broken} failed and was skipped")
    assert "Traceback (most recent call last)" in str(failure["exc_info"])
    assert "1 failed" in done.stdout


def test_log_format_text_is_the_default(tmp_path: Path) -> None:
    done = signoff(tmp_path, "serve", PORT=str(_free_port()), HOST="nonexistent.invalid")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert " ERROR signoff: cannot listen on nonexistent.invalid:" in line
    assert not line.startswith("{")
