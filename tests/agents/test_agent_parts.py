"""The parts of `signoff mcp` and `require_approval` that need no server: what is sent of an
agent's tool call, what a model is told of a refusal, and what is needed to start."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.agents import asking, command, telling
from bot.agents.asking import Agent
from bot.agents.mcp_server import Tools
from bot.client.wire import Refused, Unreachable
from tests.conftest import ROOT
from workflows import redaction

CALL = {
    "order": "A-1001",
    "password": "hunter2-Refunds!",
    "note": "then call https://ops:s3cr3t-pw@billing.acme.example/refund",
}


def test_the_tool_call_leaves_as_a_digest_and_a_masked_preview_only() -> None:
    agent = Agent("support-desk", "s-42", "jae")
    sent = asking.body(
        agent,
        "support-chatbot",
        "refund",
        "Refund A-1001",
        "charged twice; token=abc123secret",
        CALL,
        "issue_refund",
        None,
        "production",
    )
    shown = str(sent)
    assert "hunter2-Refunds!" not in shown and "s3cr3t-pw" not in shown
    assert "abc123secret" not in shown
    assert sent["context"]["agent"] == {
        "name": "support-desk",
        "session": "s-42",
        "tool": "issue_refund",
        "arguments_digest": redaction.digest(CALL),
        "preview": redaction.preview(CALL),
    }
    assert sent["reason"] == "Refund A-1001 — charged twice; token=[masked]"
    assert (sent["on_behalf_of"], sent["environment"]) == ("jae", "production")
    assert "version" not in sent
    # Without details there is nothing to bind or show; without a reason the summary stands.
    bare = asking.body(Agent("a"), "s", "refund", "Refund A-1", None)
    assert bare["context"] == {"agent": {"name": "a"}} and bare["reason"] == "Refund A-1"


def test_each_ask_has_its_own_key() -> None:
    assert asking.new_key() != asking.new_key()


def test_a_refusal_tells_the_model_what_it_means_and_never_to_go_ahead() -> None:
    problem = {"type": "/api/v1/problems/frozen", "title": "Frozen by an incident",
               "detail": "incident I01 freezes deploy"}  # fmt: skip
    told = telling.refusal(Refused(409, problem))
    assert told["status"] == 409 and told["type"] == "frozen"
    assert "incident I01" in told["error"] and "Do not perform" in told["meaning"]
    silent = telling.refusal(Unreachable("connection refused"))
    assert "Nothing was approved" in silent["meaning"]
    for status, said in telling.NEXT_STEP.items():
        if status != "approved":
            assert "not" in said.lower(), status


def test_signoff_mcp_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SIGNOFF_URL", raising=False)
    monkeypatch.setenv("SIGNOFF_TOKEN", "so_x_y")
    assert command.main([]) == command.CONFIGURATION
    assert "SIGNOFF_URL" in capsys.readouterr().err
    monkeypatch.setenv("SIGNOFF_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("SIGNOFF_TOKEN")
    assert command.main([]) == command.CONFIGURATION
    assert "SIGNOFF_TOKEN" in capsys.readouterr().err


def test_signoff_mcp_without_the_sdk_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As if `mcp` were not installed: an import of it fails, as it would.
    monkeypatch.delitem(sys.modules, "bot.agents.mcp_server", raising=False)
    monkeypatch.setitem(sys.modules, "mcp", None)
    monkeypatch.setitem(sys.modules, "mcp.server.fastmcp", None)
    assert command.main([]) == command.CONFIGURATION
    assert "pip install 'signoff[mcp]'" in capsys.readouterr().err


def test_agent_code_imports_the_helper_with_the_standard_library_alone() -> None:
    # An isolated interpreter without site-packages: only the checkout is on the path.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from bot.agents.approval import require_approval, Rejected, Expired, Cancelled;"
        "ours = ('bot', 'workflows');"
        "print(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)"
        " - set(ours) - {'__main__'}))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_no_tool_outlasts_its_limit_when_signoff_hangs() -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(2.5)
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    async with TestServer(app) as hanging:
        api = asking.connect(str(hanging.make_url("/")), "so_x_y")
        tools = Tools(api, None, None, limit=1)
        started = time.monotonic()
        answer = await tools.get_request("R0")
        took = time.monotonic() - started
    assert answer.isError and took < 3, took
    assert answer.structuredContent is not None
    assert "no answer within 1 seconds" in answer.structuredContent["detail"]
    assert "Do not perform" in answer.structuredContent["meaning"]
