"""The GitHub gate through a real `signoff serve` (and `signoff sweep`): GitHub's stand-in over
HTTPS signs the webhook and takes the verdict, Slack's stand-in carries the approval."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from tests.github_standin import (
    APP_ID,
    INSTALLATION,
    WEBHOOK_SECRET,
    GitHubStandIn,
    deployment_event,
    serve_github,
    signed_delivery,
)
from tests.serve_process import Server, _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

POLICY = Path(__file__).parent / "policy.yaml"


@dataclass
class Served:
    github: GitHubStandIn
    slack: SlackStandIn
    server: Server
    http: aiohttp.ClientSession
    env: dict[str, str]

    async def deliver(self, payload: dict[str, object], secret: str = WEBHOOK_SECRET) -> int:
        body, headers = signed_delivery(payload, secret)
        url = f"{self.server.base}/github/webhook"
        async with self.http.post(url, data=body, headers=headers) as answer:
            return answer.status


@contextlib.asynccontextmanager
async def gate_server(tmp_path: Path) -> AsyncIterator[Served]:
    slack = SlackStandIn()
    async with (
        serve_github(tmp_path) as github,
        TestServer(slack.app()) as slack_api,
        aiohttp.ClientSession() as http,
    ):
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        env = _env(
            tmp_path,
            SIGNOFF_POLICY=str(POLICY),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(slack_api.make_url("/api/")),
            GITHUB_APP_ID=APP_ID,
            # As an environment variable often carries it: the PEM's line breaks as \n.
            GITHUB_APP_PRIVATE_KEY=github.standin.private_pem.replace("\n", "\\n"),
            GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET,
            GITHUB_API_URL=github.standin.base_url,
            SSL_CERT_FILE=str(github.authority_file),
            SIGNOFF_ALLOW_PRIVATE_CALLBACKS="true",
        )
        server = await start_server(tmp_path, "serve", env)
        try:
            yield Served(github.standin, slack, server, http, env)
        finally:
            await server.stop()


def _event(github: GitHubStandIn, run: str) -> dict[str, object]:
    url = github.callback_url("acme/support-chatbot", run)
    return deployment_event(url, repository="acme/support-chatbot", sender="jae-kim")


def _requests(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "signoff.db") as db:
        return int(db.execute("SELECT count(*) FROM approval_requests").fetchone()[0])


async def test_a_webhook_to_serve_opens_once_and_the_slack_approval_reaches_github_after_a_502(
    tmp_path: Path,
) -> None:
    async with gate_server(tmp_path) as world:
        github, server = world.github, world.server
        assert "GitHub gate: enabled on POST /github/webhook" in server.text()
        event = _event(github, "77")
        assert await world.deliver(event, secret="wrong") == 401
        assert _requests(tmp_path) == 0
        assert await world.deliver(event) == 201
        assert await world.deliver(event) == 200
        assert _requests(tmp_path) == 1

        await until(lambda: github.reviews, "the run's first comment", [server])
        assert "state" not in github.reviews[0].body
        github.answer_reviews(502)

        def carded() -> bool:
            return any(
                c.args["channel"] == "D0MINA" for c in world.slack.called("chat.postMessage")
            )

        await until(carded, "Mina's card", [server])
        press = world.slack.press("U0MINA", world.slack.card_for("D0MINA"), "approve")
        status, _ = await Slack(world.http, server.base).post(
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


async def test_signoff_sweep_expires_a_gated_request_and_answers_rejected_itself(
    tmp_path: Path,
) -> None:
    async with gate_server(tmp_path) as world:
        assert await world.deliver(_event(world.github, "78")) == 201
        await until(lambda: world.github.reviews, "the run's first comment", [world.server])
        await world.server.stop()
        # With the server stopped, only the sweep's own relay can tell GitHub.
        # In a thread: GitHub's stand-in answers on this event loop while the sweep runs.
        swept = await asyncio.to_thread(
            signoff, tmp_path, "sweep", "--now", "2099-01-01T00:00:00Z", **world.env
        )
        assert swept.returncode == 0, swept.stderr
        [verdict] = world.github.verdicts()
        assert verdict.body["state"] == "rejected" and verdict.status == 204
        assert "expired" in verdict.body["comment"]
        assert verdict.installation == INSTALLATION
