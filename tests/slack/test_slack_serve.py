"""The README's Slack steps, followed by a new user against a real `signoff serve`.

The Slack Web API is the local stand-in; the command typed and the log line looked for are
read from the README, so the test fails when the README stops being true.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from tests.conftest import EXAMPLE_POLICY, ROOT
from tests.serve_process import _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

README = (ROOT / "README.md").read_text()


def _readme_says(pattern: str) -> str:
    found = re.search(pattern, README)
    assert found, f"the README no longer says {pattern!r}"
    return found.group(1)


async def test_the_readme_steps_lead_to_a_first_approval(tmp_path: Path) -> None:
    typed = _readme_says(r"type `/signoff (deploy [^`]+)`")
    enabled = _readme_says(
        r"Start Signoff with `SLACK_BOT_TOKEN` and `SLACK_SIGNING_SECRET` "
        r"set\. The log says\s+`([^`]+)`"
    )
    standin = SlackStandIn(users_by_email={"soo@acme.example": "U0SOO"})
    async with TestServer(standin.app()) as api:
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        env = _env(
            tmp_path,
            SIGNOFF_POLICY=str(EXAMPLE_POLICY),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(api.make_url("/api/")),
        )
        server = await start_server(tmp_path, "serve", env)
        try:
            assert enabled in server.text()
            async with aiohttp.ClientSession() as http:
                slack = Slack(http, server.base)
                command = {
                    "command": "/signoff",
                    "text": typed,
                    "user_id": "U0JAE",
                    "team_id": "T0ACME",
                }
                status, answer = await slack.post(urlencode(command).encode())
                assert status == 200
                assert "is open; asked Mina Park and Tomas Berg to approve" in answer
                async with http.post(f"{server.base}/slack/events", data=b"text=x") as unsigned:
                    assert unsigned.status == 401

                def cards_posted() -> bool:
                    channels = {c.args["channel"] for c in standin.called("chat.postMessage")}
                    return {"D0MINA", "D0TOMAS", "C0AIGOV"} <= channels

                await until(cards_posted, "the cards and the Informed post", [server])
                press = standin.press("U0MINA", standin.card_for("D0MINA"), "approve")
                status, _ = await slack.post(urlencode({"payload": json.dumps(press)}).encode())
                assert status == 200

                def requester_told() -> bool:
                    return any(
                        c.args["channel"] == "D0JAE" and "approved" in c.args.get("text", "")
                        for c in standin.called("chat.postMessage")
                    )

                await until(requester_told, "the requester's notice", [server])
                updated = {c.args["channel"] for c in standin.called("chat.update")}
                assert {"D0MINA", "D0TOMAS"} <= updated
        finally:
            await server.stop()
    verified = signoff(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The first risk review of each of the three systems, then requested and approved.
    assert "ledger OK: 5 entries verified" in verified.stdout
