"""A real `signoff serve` with Slack enabled: a signed slash command reaches the approvers."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.slack.signing import sign
from tests.conftest import EXAMPLE_POLICY
from tests.slack_standin import SlackStandIn
from tests.test_cli_serve import _env, _free_port, signoff

SECRET = "serve-signing-secret"


async def test_serve_mounts_slack_and_a_slash_command_reaches_the_approvers(
    tmp_path: Path,
) -> None:
    standin = SlackStandIn(users_by_email={"soo@acme.example": "U0SOO"})
    async with TestServer(standin.app()) as api:
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        port = _free_port()
        log = tmp_path / "serve.log"
        env = _env(
            tmp_path,
            PORT=str(port),
            SIGNOFF_POLICY=str(EXAMPLE_POLICY),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(api.make_url("/api/")),
        )
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "serve",
                env=env,
                cwd=tmp_path,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            async with aiohttp.ClientSession() as http:
                base = f"http://127.0.0.1:{port}"
                for _ in range(150):
                    try:
                        async with http.get(f"{base}/healthz") as health:
                            if health.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.2)
                assert "Slack: enabled at POST /slack/events" in log.read_text()
                body = urlencode(
                    {
                        "command": "/signoff",
                        "text": "deploy doc-search 5.0 to prod",
                        "user_id": "U0JAE",
                        "team_id": "T0ACME",
                    }
                ).encode()
                stamp = str(int(time.time()))
                headers = {
                    "X-Slack-Request-Timestamp": stamp,
                    "X-Slack-Signature": sign(SECRET.encode(), stamp, body),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                async with http.post(f"{base}/slack/events", data=body, headers=headers) as r:
                    assert r.status == 200
                    assert "is open; asked Mina Park and Tomas Berg to approve" in await r.text()
                async with http.post(f"{base}/slack/events", data=body) as unsigned:
                    assert unsigned.status == 401
            for _ in range(100):
                if len(standin.called("chat.postMessage")) >= 3:
                    break
                await asyncio.sleep(0.1)
            channels = {c.args["channel"] for c in standin.called("chat.postMessage")}
            assert channels == {"D0MINA", "D0TOMAS", "C0AIGOV"}, log.read_text()
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=15)
