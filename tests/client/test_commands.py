"""`signoff status` and `signoff cancel` on a bare interpreter, and the same module behind the
installed `signoff` command, which reaches it without loading the server's dependencies."""

from __future__ import annotations

import asyncio
import json
import sys

from tests.client.bare import BARE, run, runner_env
from tests.client.standin import TOKEN, Served
from tests.conftest import ROOT

ASK = ("request", "deploy", "--system", "credit-scoring", "--version", "1.4.2")


async def test_status_exits_as_the_request_stands_and_prints_json(api: Served) -> None:
    env = runner_env(SIGNOFF_TOKEN=TOKEN)
    await run(*ASK, "--url", api.url, env=env)
    request = api.standin.only()
    pending = await run("status", request.id, "--url", api.url, env=env)
    await api.standin.reject(request.id, "mina", "not before the audit")
    rejected = await run("status", request.id, "--url", api.url, "--json", env=env)
    unknown = await run("status", "r-nope", "--url", api.url, env=env)
    assert (pending.code, rejected.code, unknown.code) == (5, 1, 4)
    assert json.loads(rejected.out)["rejection"]["reason"] == "not before the audit"
    assert "Rejected by mina: not before the audit" in rejected.err  # the log is not the JSON
    assert "Not found: no request r-nope" in unknown.out


async def test_cancel_cancels_a_pending_request_with_its_reason(api: Served) -> None:
    env = runner_env(SIGNOFF_TOKEN=TOKEN)
    await run(*ASK, "--url", api.url, env=env)
    request = api.standin.only()
    cancel = ("cancel", request.id, "--url", api.url, "--reason")
    cancelled = await run(*cancel, "wrong build", env=env)
    again = await run(*cancel, "twice", env=env)
    assert (cancelled.code, again.code) == (3, 4), (cancelled, again)
    assert api.standin.cancel_reasons == {request.id: "wrong build"}
    assert "Already decided: the request is cancelled" in again.out


async def test_the_signoff_command_runs_the_client_without_the_servers_dependencies(
    api: Served,
) -> None:
    env = runner_env(SIGNOFF_TOKEN=TOKEN)
    await run(*ASK, "--url", api.url, env=env)
    request = api.standin.only()
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        f"code = main(['status', {request.id!r}, '--url', {api.url!r}])\n"
        "heavy = [m for m in ('sqlalchemy', 'slack_bolt', 'aiohttp', 'microsoft_agents')"
        " if m in sys.modules]\n"
        "print('exit', code, 'heavy', heavy)\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert "exit 5 heavy []" in out.decode(), err.decode()
    assert f"Request {request.id}: deploy credit-scoring 1.4.2" in out.decode()


async def test_the_bare_interpreter_of_these_tests_has_nothing_installed() -> None:
    # What proves the client needs nothing installed: the same flags find no package at all.
    for package in ("aiohttp", "pydantic"):
        process = await asyncio.create_subprocess_exec(
            *BARE, "-c", f"import {package}", env=runner_env(), stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode != 0 and b"ModuleNotFoundError" in err
