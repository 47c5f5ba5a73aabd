"""`require_approval` against a real `signoff serve`: agent code runs only once people approve.

The decorated functions record each run, so the tests show when they ran: never while the
request waits, once after the approval, never after a rejection, a refusal or a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path

import pytest

from bot.agents.approval import (
    Expired,
    NotDecided,
    Rejected,
    SignoffRefused,
    require_approval,
)
from tests.agents.agent_world import press, reject
from tests.api_process import API_POLICY, ApiWorld, api_world
from tests.serve_process import signoff, until

pytestmark = pytest.mark.slow


def _card(world: ApiWorld, needle: str) -> str:
    """What Mina was shown about `needle`, as posted to Slack; empty until it is posted."""
    for call in reversed(world.standin.called("chat.postMessage")):
        if call.args["channel"] == "D0MINA" and needle in json.dumps(call.args):
            return json.dumps(call.args)
    return ""


async def test_the_decorated_function_runs_once_after_the_approval_and_never_before(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        token = world.token("support-agent")
        ask = functools.partial(
            require_approval, url=world.server.base, token=token, agent="billing-bot"
        )
        ran: list[tuple[str, int]] = []

        @ask(
            system="support-chatbot",
            activity="refund",
            summary="Refund order A-7",
            reason="charged twice",
        )
        async def refund(order: str, amount_eur: int, api_key: str = "k-live-9d2c71") -> str:
            ran.append((order, amount_eur))
            return f"refunded {order}"

        calling = asyncio.create_task(refund("A-7", 25))
        await until(lambda: _card(world, "A-7"), "the card about A-7", [world.server])
        await asyncio.sleep(1)  # time enough to run, if it were going to run early
        assert ran == [] and not calling.done()
        card = _card(world, "A-7")
        assert "billing-bot" in card and '\\"order\\": \\"A-7\\"' in card
        assert "k-live-9d2c71" not in card  # a secret-named argument is masked
        await press(world, "U0MINA", "A-7", "approve")
        assert await asyncio.wait_for(calling, 40) == "refunded A-7"
        assert ran == [("A-7", 25)]

        # A plain function, rejected: it raises with who rejected it and why, and never runs.
        @ask(system="support-chatbot", activity="refund", summary="Refund order B-9")
        def refund_now(order: str) -> None:
            ran.append((order, 0))

        blocked = asyncio.create_task(asyncio.to_thread(refund_now, "B-9"))
        await reject(world, "U0MINA", "B-9", "B-9 was refunded last week")
        with pytest.raises(Rejected) as rejected:
            await asyncio.wait_for(blocked, 40)
        assert rejected.value.deciders == ["mina"]
        assert rejected.value.reason == "B-9 was refunded last week"
        assert ran == [("A-7", 25)]

        # The async context: the body runs inside, after the approval.
        entered: list[list[str]] = []

        async def within() -> None:
            async with ask(
                system="support-chatbot",
                activity="refund",
                summary="Refund order C-3",
                details={"order": "C-3"},
            ) as approval:
                entered.append(approval.approvers)

        inside = asyncio.create_task(within())
        await until(lambda: _card(world, "C-3"), "the card about C-3", [world.server])
        assert entered == []
        await press(world, "U0MINA", "C-3", "approve")
        await asyncio.wait_for(inside, 40)
        assert entered == [["mina"]]


async def test_refused_undecided_or_expired_never_runs_and_a_timeout_withdraws_it(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        token = world.token("support-agent")
        ask = functools.partial(require_approval, url=world.server.base, token=token)
        ran: list[str] = []

        @ask(system="credit-scoring", activity="deploy", summary="ship it", version="3.0.0")
        async def deploy() -> None:
            ran.append("deploy")

        with pytest.raises(SignoffRefused) as refused:
            await deploy()
        assert refused.value.status == 403 and refused.value.type.endswith("/not-allowed")
        assert ran == []

        @ask(system="support-chatbot", activity="refund", summary="Refund D-1", timeout=2)
        async def refund() -> None:
            ran.append("refund")

        with pytest.raises(NotDecided) as undecided:
            await refund()
        assert ran == []
        request_id = undecided.value.request_id
        assert request_id is not None
        agent = world.client(token)
        view = await agent.call("GET", f"/api/v1/requests/{request_id}")
        assert view.json["status"] == "cancelled"

        # Nobody decides before the request expires (a sweep run as if in 2099): it raises
        # Expired, saying so, and the body never runs.
        async def expiring() -> None:
            async with ask(
                system="support-chatbot",
                activity="refund",
                summary="Refund E-5",
                details={"order": "E-5"},
            ):
                ran.append("expiring")

        waiting = asyncio.create_task(expiring())
        await until(lambda: _card(world, "E-5"), "the card about E-5", [world.server])
        swept = await asyncio.to_thread(
            signoff, tmp_path, "sweep", "--now", "2099-01-01T00:00:00Z",
            SIGNOFF_POLICY=str(API_POLICY),
        )  # fmt: skip
        assert swept.returncode == 0, swept.stderr
        # The sweep commits in another process, so the helper's long poll (30 s at most on
        # SQLite) ends before it reads the expiry.
        with pytest.raises(Expired) as expired:
            await asyncio.wait_for(waiting, 60)
        assert expired.value.deciders == [] and "nobody decided before" in expired.value.reason
        assert ran == []
