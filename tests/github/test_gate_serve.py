"""The GitHub gate through a real `signoff serve`: GitHub's stand-in over HTTPS signs the
webhook and takes the verdict, Slack's stand-in carries the approval, all over HTTP."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from tests.github_standin import (
    APP_ID,
    INSTALLATION,
    WEBHOOK_SECRET,
    deployment_event,
    serve_github,
    signed_delivery,
)
from tests.serve_process import _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

POLICY = Path(__file__).parent / "policy.yaml"


def _requests(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "signoff.db") as db:
        return int(db.execute("SELECT count(*) FROM approval_requests").fetchone()[0])


async def test_a_webhook_to_serve_opens_once_and_the_slack_approval_reaches_github_after_a_502(
    tmp_path: Path,
) -> None:
    slack_standin = SlackStandIn()
    async with (
        serve_github(tmp_path) as served,
        TestServer(slack_standin.app()) as slack_api,
        aiohttp.ClientSession() as http,
    ):
        github = served.standin
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        env = _env(
            tmp_path,
            SIGNOFF_POLICY=str(POLICY),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(slack_api.make_url("/api/")),
            GITHUB_APP_ID=APP_ID,
            # As an environment variable often carries it: the PEM's line breaks as \n.
            GITHUB_APP_PRIVATE_KEY=github.private_pem.replace("\n", "\\n"),
            GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
            GITHUB_API_URL=github.base_url,
            SSL_CERT_FILE=str(served.authority_file),
            SIGNOFF_ALLOW_PRIVATE_CALLBACKS="true",
        )
        server = await start_server(tmp_path, "serve", env)
        try:
            assert "GitHub gate: enabled on POST /github/webhook" in server.text()
            hook = f"{server.base}/github/webhook"
            event = deployment_event(
                github.callback_url("acme/support-chatbot", "77"),
                repository="acme/support-chatbot",
                sender="jae-kim",
            )
            body, headers = signed_delivery(event)

            forged = signed_delivery(event, secret="wrong")[1]
            async with http.post(hook, data=body, headers=forged) as refused:
                assert refused.status == 401
            assert _requests(tmp_path) == 0

            async with http.post(hook, data=body, headers=headers) as opened:
                assert opened.status == 201
                request_id = (await opened.json())["request_id"]
            async with http.post(hook, data=body, headers=headers) as again:
                assert again.status == 200 and (await again.json())["request_id"] == request_id
            assert _requests(tmp_path) == 1

            await until(lambda: github.reviews, "the run's first comment", [server])
            assert "state" not in github.reviews[0].body
            github.answer_reviews(502)

            def carded() -> bool:
                return any(
                    c.args["channel"] == "D0MINA" for c in slack_standin.called("chat.postMessage")
                )

            await until(carded, "Mina's card", [server])
            press = slack_standin.press("U0MINA", slack_standin.card_for("D0MINA"), "approve")
            status, _ = await Slack(http, server.base).post(
                urlencode({"payload": json.dumps(press)}).encode()
            )
            assert status == 200

            def settled() -> bool:
                return any(v.status == 204 for v in github.verdicts())

            await until(settled, "the approved verdict, after a 502", [server], tries=300)
            verdicts = github.verdicts()
            assert [(v.body["state"], v.status) for v in verdicts] == [
                ("approved", 502),
                ("approved", 204),
            ]
            assert {v.installation for v in verdicts} == {INSTALLATION}
            assert all(v.run_id == "77" for v in verdicts)
            assert github.refused_jwts == []
        finally:
            await server.stop()
