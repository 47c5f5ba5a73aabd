"""`signoff sweep` as an operator runs it: it delivers what it queued through Slack (a stand-in)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.policy.source import PolicyHolder
from bot.storage.database import create_engine
from tests.conftest import EXAMPLE_POLICY
from tests.harness import Harness
from tests.serve_process import _env
from tests.slack_standin import SlackStandIn


async def _signoff(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    # Not subprocess.run: the stand-in answers on this test's event loop meanwhile.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("slack_busy", [False, True], ids=["slack-answers", "slack-says-429"])
async def test_sweep_now_sends_the_reminders_it_queued_through_the_configured_slack(
    tmp_path: Path, slack_busy: bool
) -> None:
    # The example names Soo and Omar by email only: Slack finds them.
    standin = SlackStandIn(
        users_by_email={"soo@acme.example": "U0SOO", "omar@acme.example": "U0OMAR"}
    )
    async with TestServer(standin.app()) as api:
        env = _env(
            tmp_path,
            SIGNOFF_POLICY=str(EXAMPLE_POLICY),
            SLACK_BOT_TOKEN="xoxb-sweep",
            SLACK_SIGNING_SECRET="sweep-secret",
            SLACK_API_URL=str(api.make_url("/api/")),
        )
        code, _, err = await _signoff(tmp_path, env, "db", "upgrade")
        assert code == 0, err

        # A request opened at 09:00 by the example's ML engineer, its cards already out.
        engine = create_engine(env["DATABASE_URL"])
        try:
            h = Harness(engine, policies=PolicyHolder(EXAMPLE_POLICY))  # type: ignore[arg-type]
            await h.open("soo", system="credit-scoring")
            await h.settle()
        finally:
            await engine.dispose()

        if slack_busy:  # the first post is held back a second, and still goes
            standin.script("chat.postMessage", 429, {"ok": False, "error": "ratelimited"},
                           {"Retry-After": "1"})  # fmt: skip
        # The high tier reminds after 4 hours: the sweep acts as if it were 13:00.
        code, out, err = await _signoff(tmp_path, env, "sweep", "--now", "2026-11-02T13:00:00Z")

    assert code == 0, err
    posts = standin.called("chat.postMessage")
    reminders = [p for p in posts if "Reminder" in str(p.args.get("text", ""))]
    assert reminders, [p.args.get("text") for p in posts]
    assert {p.args["channel"] for p in reminders} >= {"D0MINA", "D0TOMAS"}  # their DMs
    with sqlite3.connect(tmp_path / "signoff.db") as db:
        (left,) = db.execute("SELECT count(*) FROM outbox WHERE status != 'sent'").fetchone()
    assert left == 0
    assert out.startswith("Sweep at 2026-11-02T13:00:00+00:00: 1 requests due")
    answered = len(standin.called("chat.postMessage")) + len(standin.called("chat.update"))
    sent, retried = answered - slack_busy, int(slack_busy)
    assert f"{sent} messages queued; {sent} sent, {retried} attempts to retry, 0 dead" in out, out


async def test_a_sweep_with_no_platform_leaves_the_servers_messages_alone(tmp_path: Path) -> None:
    env = _env(tmp_path, SIGNOFF_POLICY=str(EXAMPLE_POLICY))
    assert (await _signoff(tmp_path, env, "db", "upgrade"))[0] == 0
    engine = create_engine(env["DATABASE_URL"])
    try:  # the server's cards, queued for its Slack and not yet sent
        h = Harness(engine, policies=PolicyHolder(EXAMPLE_POLICY))  # type: ignore[arg-type]
        await h.open("soo", system="credit-scoring")
    finally:
        await engine.dispose()
    code, out, err = await _signoff(tmp_path, env, "sweep", "--now", "2026-11-02T09:30:00Z")
    assert code == 0, err
    assert "no platform is configured here" in err
    assert "0 messages queued; 0 sent" in out
    with sqlite3.connect(tmp_path / "signoff.db") as db:
        statuses = {s for (s,) in db.execute("SELECT status FROM outbox")}
    assert statuses == {"pending"}
