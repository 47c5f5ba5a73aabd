"""DUR-13: two `signoff serve` processes on one PostgreSQL database, and the leader is killed.

One holds the scheduler lock; after a SIGKILL the other takes over within a sweep interval,
and a reminder that falls due during the failover is sent exactly once.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from tests.conftest import EXAMPLE_POLICY
from tests.serve_process import _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

LEADER = "this process now runs the scheduler"


async def test_dur_13_the_leader_dies_and_a_due_reminder_is_sent_once(
    tmp_path: Path, postgres_url: str
) -> None:
    # Doc-search (tier minimal) reminds 5 s after a request; the next reminder is 5 s later.
    policy = tmp_path / "policy.yaml"
    text = EXAMPLE_POLICY.read_text(encoding="utf-8")
    policy.write_text(text.replace("remind_after: 72h", "remind_after: 5s"), encoding="utf-8")
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api:
        env = _env(
            tmp_path,
            DATABASE_URL=postgres_url,
            SIGNOFF_POLICY=str(policy),
            SIGNOFF_SWEEP_SECONDS="0.5",
            SLACK_BOT_TOKEN="xoxb-failover",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(api.make_url("/api/")),
        )
        upgraded = signoff(tmp_path, "db", "upgrade", DATABASE_URL=postgres_url)
        assert upgraded.returncode == 0, upgraded.stderr
        servers = [await start_server(tmp_path, "a", env), await start_server(tmp_path, "b", env)]
        try:
            await until(
                lambda: (
                    sum(LEADER in s.text() for s in servers) == 1
                    and all("serving on" in s.text() for s in servers)
                ),
                "one leader among two servers",
                servers,
            )
            await asyncio.sleep(1.5)  # several sweep intervals: still only one leader
            assert sum(LEADER in s.text() for s in servers) == 1
            leader = next(s for s in servers if LEADER in s.text())
            follower = next(s for s in servers if s is not leader)

            async with aiohttp.ClientSession() as http:
                slack = Slack(http, f"http://127.0.0.1:{follower.port}")
                command = {"command": "/signoff", "text": "deploy doc-search 9.1",
                           "user_id": "U0JAE", "team_id": "T0ACME"}  # fmt: skip
                status, answer = await slack.post(urlencode(command).encode())
                assert status == 200 and "is open" in answer, answer
            leader.process.send_signal(signal.SIGKILL)
            await leader.process.wait()

            await until(lambda: LEADER in follower.text(), "the follower taking over", servers)

            def reminders(channel: str) -> list[str]:
                return [
                    c.args["text"]
                    for c in standin.called("chat.postMessage")
                    if c.args["channel"] == channel
                    and c.args.get("text", "").startswith("Reminder")
                ]

            await until(lambda: reminders("D0MINA"), "the reminder", servers)
            await asyncio.sleep(2)  # four more sweeps before the next reminder is due
            assert len(reminders("D0MINA")) == 1, reminders("D0MINA")
            assert len(reminders("D0TOMAS")) == 1
            assert re.search(
                r"Reminder: Request R\w+ to deploy doc-search 9\.1", reminders("D0MINA")[0]
            )
        finally:
            for server in servers:
                await server.stop()
    verified = signoff(tmp_path, "audit", "verify", DATABASE_URL=postgres_url)
    assert verified.returncode == 0, verified.stdout
