"""`signoff mcp` driven by the official MCP client against a real `signoff serve`: an agent
asks, the Accountable decides in Slack, and the agent learns it only through its six tools.

Nothing here reaches into the server: the token comes from `signoff clients issue`, clicks
are signed as Slack signs them, and the ledger is read with `signoff audit export`.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from tests.agents.agent_world import (
    CLIENT_NAME,
    mcp_session,
    press,
    reject,
    stored_bytes,
    told,
)
from tests.api_process import API_POLICY, api_world
from tests.serve_process import signoff, until
from workflows import redaction

pytestmark = pytest.mark.slow

SIX = {
    "request_approval",
    "wait_for_decision",
    "get_request",
    "cancel_request",
    "list_my_requests",
    "describe_system",
}
KEY_SECRET = "s3cr3t-refund-key-7f1c9e"
PASSWORD = "hunter2-Refunds!"
DETAILS = {
    "order": "A-1001",
    "amount_eur": 40,
    "api_key": KEY_SECRET,
    "note": f"log in with password={PASSWORD} first",
}
REFUND = {
    "system": "support-chatbot",
    "activity": "refund",
    "summary": "Refund order A-1001, 40 EUR",
    "reason": "the customer was charged twice",
    "details": DETAILS,
    "tool": "issue_refund",
}


async def test_an_agent_asks_waits_and_hears_the_decision_through_signoff_mcp(
    tmp_path: Path,
) -> None:
    async with (
        api_world(tmp_path) as world,
        mcp_session(
            world,
            world.token("support-agent"),
            SIGNOFF_ON_BEHALF_OF="jae",
            SIGNOFF_AGENT_SESSION="s-42",
        ) as mcp,
    ):
        listed = (await mcp.list_tools()).tools
        assert {tool.name for tool in listed} == SIX and len(listed) == 6
        for tool in listed:
            assert "approved" in (tool.description or "") or tool.name in (
                "cancel_request",
                "describe_system",
            )
            assert tool.inputSchema["type"] == "object"
            assert tool.annotations is not None
        read_only = {t.name for t in listed if t.annotations and t.annotations.readOnlyHint}
        assert read_only == SIX - {"request_approval", "cancel_request"}

        # A wait that asks for two minutes is held to 50 seconds, pending all along.
        other = told(await mcp.call_tool("request_approval", {**REFUND, "idempotency_key": "k2"}))
        started = time.monotonic()
        long_wait = asyncio.create_task(
            mcp.call_tool(
                "wait_for_decision", {"request_id": other["request_id"], "max_wait_seconds": 120}
            )
        )

        opened = await mcp.call_tool("request_approval", {**REFUND, "idempotency_key": "k1"})
        assert not opened.isError, opened.content
        asked = told(opened)
        request_id = asked["request_id"]
        assert (asked["status"], asked["opened_now"]) == ("pending", True)
        assert "ai-governance-lead" in asked["asked"]
        assert "do not perform" in asked["next_step"].lower()
        assert asked["link"].startswith(world.server.base)

        # It reaches the Accountable in Slack: Mina's direct messages get a card with buttons.
        def mina_asked() -> bool:
            return any(
                request_id in json.dumps(call.args)
                for call in world.standin.called("chat.postMessage")
                if call.args["channel"] == "D0MINA"
            )

        await until(mina_asked, "the card to the Accountable", [world.server])
        # The card says that an agent asks, for whom, with which tool, and what it would send.
        card = json.dumps(world.standin.card_for("D0MINA").args, ensure_ascii=False)
        for shown in (
            f"{CLIENT_NAME} (session s-42)",
            "client support-agent on behalf of Jae Kim",
            "issue_refund",
            redaction.digest(DETAILS),
            "A-1001",
            "[masked]",
            "Refund order A-1001, 40 EUR",
        ):
            assert shown in card, (shown, card)

        again = told(await mcp.call_tool("request_approval", {**REFUND, "idempotency_key": "k1"}))
        assert (again["request_id"], again["opened_now"]) == (request_id, False)

        before = time.monotonic()
        pending = told(
            await mcp.call_tool(
                "wait_for_decision", {"request_id": request_id, "max_wait_seconds": 2}
            )
        )
        waited = time.monotonic() - before
        assert pending["status"] == "pending" and "wait_for_decision" in pending["next_step"]
        assert waited < 5, f"a 2-second wait took {waited:.1f}s"

        deciding = asyncio.create_task(
            mcp.call_tool("wait_for_decision", {"request_id": request_id, "max_wait_seconds": 50})
        )
        await asyncio.sleep(1)
        assert not deciding.done()
        await press(world, "U0MINA", request_id, "approve")
        decided = told(await asyncio.wait_for(deciding, 50))
        assert decided["status"] == "approved" and decided["approved_by"] == ["mina"]
        assert "you may now perform" in decided["next_step"].lower()

        # The agent may not ask for what the policy does not let its client ask for: an error
        # result the model reads, and the session goes on.
        refused = await mcp.call_tool(
            "request_approval",
            {**REFUND, "system": "credit-scoring", "activity": "deploy", "version": "3.0.0"},
        )
        assert refused.isError
        problem = told(refused)
        assert problem["status"] == 403 and problem["type"] == "not-allowed"
        assert "may not ask" in problem["meaning"] and "Never perform" in problem["meaning"]
        unknown = told(await mcp.call_tool("get_request", {"request_id": "R-nope"}))
        assert unknown["status"] == 404

        described = told(
            await mcp.call_tool(
                "describe_system", {"system": "support-chatbot", "activity": "refund"}
            )
        )
        assert described["approval_needed"] is True and described["this_agent_may_ask"] is True
        assert described["who_decides"]["refund"] == "ai-governance-lead"
        approved = told(await mcp.call_tool("list_my_requests", {"status": "approved"}))
        assert [r["request_id"] for r in approved["requests"]] == [request_id]

        finished = told(await asyncio.wait_for(long_wait, 60))
        held = time.monotonic() - started
        assert finished["status"] == "pending"
        assert 45 <= held <= 55, f"a wait asked for 120s took {held:.1f}s"
        withdrawn = told(
            await mcp.call_tool(
                "cancel_request", {"request_id": other["request_id"], "reason": "user changed mind"}
            )
        )
        assert withdrawn["status"] == "cancelled"
        late = await mcp.call_tool(
            "cancel_request", {"request_id": request_id, "reason": "too late"}
        )
        assert late.isError and told(late)["type"] == "not-pending"

    # The secrets in `details` reached neither Slack, nor the ledger, nor the database in clear;
    # what was stored of them is their digest and the masked preview.
    slack_said = json.dumps([call.args for call in world.standin.calls])
    exported = signoff(tmp_path, "audit", "export", SIGNOFF_POLICY=str(API_POLICY))
    assert exported.returncode == 0, exported.stderr
    assert request_id in exported.stdout
    database = stored_bytes(tmp_path)
    for secret in (KEY_SECRET, PASSWORD):
        assert secret not in slack_said
        assert secret not in exported.stdout
        assert secret.encode() not in database
        assert secret not in world.server.text()
    assert redaction.digest(DETAILS).encode() in database
    assert b"[masked]" in database and CLIENT_NAME.encode() in database


async def test_a_rejection_reaches_the_agent_with_who_and_why(tmp_path: Path) -> None:
    async with (
        api_world(tmp_path) as world,
        mcp_session(world, world.token("support-agent")) as mcp,
    ):
        asked = told(await mcp.call_tool("request_approval", REFUND))
        # There is no tool to approve with, whatever a model tries.
        for name in ("approve", "approve_request", "decide", "update_policy"):
            attempt = await mcp.call_tool(name, {"request_id": asked["request_id"]})
            assert attempt.isError
        await reject(world, "U0MINA", asked["request_id"], "refunds over 30 EUR go through finance")
        decided = told(
            await mcp.call_tool("wait_for_decision", {"request_id": asked["request_id"]})
        )
        assert decided["status"] == "rejected"
        assert decided["rejected_by"] == "mina"
        assert decided["rejection_reason"] == "refunds over 30 EUR go through finance"
        assert "do NOT perform" in decided["next_step"]
        # Without an idempotency key, asking again is a new request, not the old answer.
        fresh = told(await mcp.call_tool("request_approval", REFUND))
        assert fresh["request_id"] != asked["request_id"] and fresh["status"] == "pending"
