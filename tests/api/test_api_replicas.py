"""Two `signoff serve` replicas on one PostgreSQL database: a long-poll held by one is answered
when an approver's click reaches the other (LISTEN/NOTIFY between them)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.api_process import api_world, body
from tests.serve_process import until
from tests.slack_process import Slack

pytestmark = pytest.mark.slow


async def test_a_long_poll_on_one_replica_is_woken_by_a_decision_on_the_other(
    tmp_path: Path, postgres_url: str
) -> None:
    async with api_world(tmp_path, DATABASE_URL=postgres_url) as world:
        other = await world.replica("replica")
        agent = world.client(world.token("support-agent"))
        opened = await agent.open(body())
        assert opened.status == 201, opened.json
        request_id, tag = opened.json["id"], opened.headers["ETag"]
        waiting = asyncio.create_task(
            agent.call("GET", f"/api/v1/requests/{request_id}?wait=30", **{"If-None-Match": tag})
        )

        def card_posted() -> bool:
            return any(
                c.args["channel"] == "D0TOMAS" for c in world.standin.called("chat.postMessage")
            )

        await until(card_posted, "Tomas's card", world.servers)
        await asyncio.sleep(0.3)
        assert not waiting.done()
        press = world.standin.press("U0TOMAS", world.standin.card_for("D0TOMAS"), "approve")
        # The click goes to the replica, not to the server holding the long-poll.
        status, _ = await Slack(world.http, other.base).post(
            urlencode({"payload": json.dumps(press)}).encode()
        )
        clicked = time.monotonic()
        assert status == 200
        answer = await asyncio.wait_for(waiting, 30)
        latency = time.monotonic() - clicked
        print(f"the other replica's long-poll answered {latency * 1000:.0f} ms after the click")
        assert latency < 5, "the waiter slept on after the other replica's decision"
        assert answer.json["status"] == "approved"
        assert answer.json["quorum"]["approvals"][0]["person"] == "tomas"
