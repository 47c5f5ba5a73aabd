"""A cancelled or timed-out job stops the client with SIGTERM or SIGINT: it cancels the request
it waits on, saying so, and never exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.client.bare import finish, github_env, start, until
from tests.client.standin import TOKEN, Served

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2", "--wait")


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT])
async def test_a_stopped_job_cancels_the_request_as_pipeline_cancelled(
    api: Served, tmp_path: Path, sent: signal.Signals
) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    client = await start(*ASK, "--url", api.url, env=env)
    await until(lambda: api.api_calls("GET"), "the first long poll")
    request = api.standin.only()
    client.send_signal(sent)
    outcome = await finish(client)
    assert outcome.code == 3, outcome
    assert api.standin.only().status == "cancelled"
    assert api.standin.cancel_reasons == {request.id: f"pipeline cancelled ({sent.name})"}
    assert f"{sent.name}: cancelled request {request.id}" in outcome.out
    assert "**cancelled**" in (tmp_path / "summary.md").read_text()
    assert "status=cancelled" in (tmp_path / "output.txt").read_text().splitlines()


async def test_a_stop_while_signoff_is_down_is_not_a_pass(api: Served, tmp_path: Path) -> None:
    env = github_env(tmp_path, api.url, SIGNOFF_TOKEN=TOKEN)
    client = await start(*ASK, "--url", api.url, env=env)
    await until(lambda: api.api_calls("GET"), "the first long poll")
    await api.runner.cleanup()
    assert client.stdout is not None
    said: list[str] = []
    while not said or "No answer from Signoff" not in said[-1]:
        said.append((await asyncio.wait_for(client.stdout.readline(), 30)).decode())
    client.send_signal(signal.SIGTERM)
    outcome = await finish(client)
    assert outcome.code == 69, outcome
    assert "SIGTERM: Signoff did not cancel request" in outcome.out
    assert api.standin.only().status == "pending"
