"""The CI client on a bare interpreter against a real `signoff serve`: people decide in Slack
(signed requests to the server, Slack's Web API a stand-in), the client exits as they decided.

Tokens come from `signoff clients issue`; expiry is `signoff sweep --now` in the future.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from tests.api_process import API_POLICY, ApiWorld, api_world
from tests.client.bare import finish, github_env, read_until, run, start
from tests.serve_process import signoff, until

pytestmark = pytest.mark.slow

DIGEST, OTHER = "sha256:" + "9f" * 32, "sha256:" + "00" * 32
ASK = ("request", "deploy", "--system", "support-chatbot", "--version", "2.1.0")


def _env(world: ApiWorld, tmp_path: Path) -> dict[str, str]:
    return github_env(tmp_path, world.server.base, SIGNOFF_TOKEN=world.token("support-agent"))


async def _reject(world: ApiWorld, user: str, reason: str) -> None:
    await world.click(user, "D" + user[1:], "reject")
    await until(lambda: world.standin.called("views.open"), "the reason form", [world.server])
    status, _ = await world.slack.post(world.standin.reason_submission(user, reason))
    assert status == 200


async def test_serve_approved_in_slack_exits_0_and_a_rerun_resumes_it(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        env, url = _env(world, tmp_path), world.server.base
        asked = (*ASK, "--environment", "production", "--artifact", DIGEST, "--url", url)
        client = await start(*asked, "--wait", env=env)
        said = await read_until(client, "Follow it at")
        assert "Asked the Accountable role ai-governance-lead of support-chatbot" in said
        await world.click("U0MINA", "D0MINA", "approve")
        outcome = await finish(client)
        assert outcome.code == 0, (said, outcome)
        assert "Approved by mina (slack)" in outcome.out
        assert f"{DIGEST} is the approved artifact" in outcome.out
        summary = (tmp_path / "summary.md").read_text()
        assert "| Status | **approved** |" in summary and "| Approved by | mina (slack, " in summary
        outputs = dict(line.split("=", 1) for line in (tmp_path / "output.txt").read_text().split())
        request_id = outputs["request-id"]
        assert (outputs["status"], outputs["approvers"]) == ("approved", "mina")
        assert said.startswith(f"Opened request {request_id}: deploy support-chatbot 2.1.0")

        # The same step again (a retry in the same run and attempt): the same request, decided.
        again = await run(*asked, "--wait", env=env)
        assert again.code == 0, again
        assert f"Resumed request {request_id}" in again.out
        # What was approved is that digest, and only that one.
        other = await run("status", request_id, "--artifact", OTHER, "--url", url, env=env)
        assert other.code == 1, other
        assert f"MISMATCH: the approved artifact is {DIGEST}, not {OTHER}" in other.out


async def test_serve_rejected_in_slack_exits_1_with_the_reason(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        client = await start(*ASK, "--wait", "--url", world.server.base, env=_env(world, tmp_path))
        await read_until(client, "Follow it at")
        await _reject(world, "U0MINA", "no bias audit for 2.1.0")
        outcome = await finish(client)
        assert outcome.code == 1, outcome
        assert "Rejected by mina: no bias audit for 2.1.0" in outcome.out
        summary = (tmp_path / "summary.md").read_text()
        assert "| Rejected by | mina: no bias audit for 2.1.0 |" in summary


async def test_serve_sigterm_cancels_the_request_in_the_ledger_and_down_is_69(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        env, url = _env(world, tmp_path), world.server.base
        client = await start(*ASK, "--wait", "--url", url, env=env)
        said = await read_until(client, "Follow it at")
        request_id = said.split()[2].rstrip(":")
        client.send_signal(signal.SIGTERM)
        outcome = await finish(client)
        assert outcome.code == 3, outcome
        status = await run("status", request_id, "--url", url, "--json", env=env)
        assert json.loads(status.out)["status"] == "cancelled"
        events = await world.client(env["SIGNOFF_TOKEN"]).call(
            "GET", f"/api/v1/requests/{request_id}/events"
        )
        assert [e["action"] for e in events.json["items"]] == ["requested", "cancelled"]
        exported = signoff(
            tmp_path, "audit", "export", SIGNOFF_POLICY=str(API_POLICY),
            DATABASE_URL=world.env["DATABASE_URL"],
        )  # fmt: skip
        cancelled = [json.loads(line) for line in exported.stdout.splitlines()][-1]
        assert cancelled["action"] == "cancelled"
        assert "pipeline cancelled (SIGTERM)" in json.dumps(cancelled["data"])

        await world.server.stop()
        down = await run(*ASK, "--wait", "--url", url, "--timeout", "2s", env=env)
        assert down.code == 69, down


async def test_serve_expired_by_the_sweep_exits_2(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        env, url = _env(world, tmp_path), world.server.base
        client = await start(*ASK, "--wait", "--url", url, env=env)
        await read_until(client, "Follow it at")
        swept = signoff(
            tmp_path, "sweep", "--now", "2099-01-01T00:00:00Z",
            SIGNOFF_POLICY=str(API_POLICY), DATABASE_URL=world.env["DATABASE_URL"],
        )  # fmt: skip
        assert swept.returncode == 0, swept.stderr
        # A sweep in another process commits beside the server: its long poll answers within
        # its 30 seconds, and the next read sees the expiry.
        outcome = await asyncio.wait_for(finish(client), 90)
        assert outcome.code == 2, outcome
        assert "nobody decided in time" in outcome.out
