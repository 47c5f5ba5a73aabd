"""API v1 through a real `signoff serve`: a pipeline asks, people decide in Slack, it hears.

Tokens come from `signoff clients issue`, Slack's clicks are signed with the serve secret, and
every call is HTTP to the running process.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from tests.api_process import API_POLICY, api_world, body
from tests.serve_process import signoff

pytestmark = pytest.mark.slow

PROBLEM = "/api/v1/problems/"


async def test_a_pipeline_opens_replays_its_key_and_is_refused_what_it_may_not_ask(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        agent = world.client(world.token("support-agent"))
        opened = await agent.open(body(), key="run-1")
        assert opened.status == 201, opened.json
        request_id = opened.json["id"]
        assert opened.headers["Location"] == f"/api/v1/requests/{request_id}"
        assert opened.json["status"] == "pending"
        assert opened.json["requester"] == {"kind": "client", "name": "support-agent",
                                            "on_behalf_of": None}  # fmt: skip
        assert opened.json["waiting_for"] == "accountable"

        # The same call again, keys in another order: the same request, not a second one.
        shuffled = dict(reversed(list(body().items())))
        again = await agent.open(shuffled, key="run-1")
        assert (again.status, again.json["id"]) == (200, request_id)
        other = await agent.open(body(version="2.2.0"), key="run-1")
        assert other.status == 422 and other.json["type"] == PROBLEM + "idempotency-key-reused"

        # Keys are the client's own: another client's same key opens its own request.
        ci = world.client(world.token("credit-ci"))
        theirs = await ci.open(body(system="credit-scoring", on_behalf_of="jae"), key="run-1")
        assert theirs.status == 201 and theirs.json["id"] != request_id
        mine = await ci.call("GET", f"/api/v1/requests/{request_id}")
        assert mine.status == 404

        no_key = await agent.call("POST", "/api/v1/requests", body())
        assert no_key.status == 400
        assert no_key.json["type"] == PROBLEM + "idempotency-key-required"
        unknown = await agent.open(body(system="weather-model"))
        assert unknown.status == 404 and unknown.json["type"] == PROBLEM + "unknown-system"
        activity = await agent.open(body(activity="retrain"))
        assert activity.status == 404 and activity.json["type"] == PROBLEM + "unknown-activity"
        forbidden = await agent.open(body(system="credit-scoring"))
        assert forbidden.status == 403 and forbidden.json["type"] == PROBLEM + "not-allowed"
        bad_field = await agent.open(body(artifact={"digest": "md5:abc"}))
        assert bad_field.status == 422 and "artifact.digest" in bad_field.json["detail"]
        huge = await agent.open(body(reason="x" * 70_000))
        assert huge.status == 413 and huge.json["type"] == PROBLEM + "too-large"

        events = await agent.call("GET", f"/api/v1/requests/{request_id}/events")
        assert [e["action"] for e in events.json["items"]] == ["requested"]
        assert events.json["items"][0]["actor"] == "api:support-agent"


async def test_bad_and_revoked_tokens_are_401_with_www_authenticate_and_counted(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        token = world.token("support-agent")
        agent = world.client(token)
        assert (await agent.call("GET", "/api/v1/whoami")).json["client"] == "support-agent"
        counted = (
            'signoff_inbound_refused_total{kind="unauthenticated",platform="api",status="401"}'
        )
        before = await world.metric(counted)
        token_id = token.split("_")[1]
        for wrong in (
            "so_nonsense",
            f"so_{token_id}_{'A' * 43}",
            "so_0123456789abcdef_" + "B" * 43,
        ):
            refused = await world.client(wrong).call("GET", "/api/v1/whoami")
            assert refused.status == 401, refused.json
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert refused.headers["Content-Type"].startswith("application/problem+json")
        async with world.http.get(f"{world.server.base}/api/v1/whoami") as bare:
            assert bare.status == 401
        assert await world.metric(counted) == before + 4

        # The policy lets credit-gate in by GitHub's tokens only: it cannot have a static one.
        gate = signoff(tmp_path, "clients", "issue", "credit-gate", SIGNOFF_POLICY=str(API_POLICY))
        assert gate.returncode == 1 and "token: true" in gate.stderr

        world.token("support-agent", "revoke")
        revoked = await agent.call("GET", "/api/v1/whoami")
        assert revoked.status == 401 and revoked.headers["WWW-Authenticate"]

        # Rotation: the old token keeps working for the overlap, the new one at once.
        fresh = world.token("support-agent")
        rotated = world.token("support-agent", "rotate", "--overlap", "1h")
        assert (await world.client(fresh).call("GET", "/api/v1/whoami")).status == 200
        assert (await world.client(rotated).call("GET", "/api/v1/whoami")).status == 200


async def test_concurrent_calls_with_one_key_open_one_request(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        agent = world.client(world.token("support-agent"))
        answers = await asyncio.gather(*(agent.open(body(), key="burst") for _ in range(8)))
        statuses = sorted(a.status for a in answers)
        assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, statuses
        ids = {a.json["id"] for a in answers if a.status in (200, 201)}
        assert len(ids) == 1
        listed = await agent.call("GET", "/api/v1/requests")
        assert [item["id"] for item in listed.json["items"]] == list(ids)


async def test_a_system_frozen_by_an_incident_refuses_an_open_naming_it(tmp_path: Path) -> None:
    async with api_world(tmp_path) as world:
        agent = world.client(world.token("support-agent"))
        said = await world.slack_command("U0JAE", "incident support-chatbot sev3 wrong refunds")
        found = re.search(r"\bI[0-9A-Z]{12}\b", said)
        assert found, said
        incident = found.group()
        frozen = await agent.open(body(), key="frozen")
        assert frozen.status == 409, frozen.json
        assert frozen.json["type"] == PROBLEM + "frozen"
        assert incident in frozen.json["detail"]
        system = await agent.call("GET", "/api/v1/systems/support-chatbot")
        assert system.json["frozen_by"] == incident


async def test_a_long_poll_is_answered_when_an_approver_clicks_approve_in_slack(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        agent = world.client(world.token("support-agent"))
        opened = await agent.open(body(on_behalf_of="jae"))
        request_id = opened.json["id"]
        tag = opened.headers["ETag"]
        waiting = asyncio.create_task(
            agent.call("GET", f"/api/v1/requests/{request_id}?wait=30", **{"If-None-Match": tag})
        )
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await world.click("U0MINA", "D0MINA", "approve")
        clicked = time.monotonic()
        answer = await asyncio.wait_for(waiting, 30)
        latency = time.monotonic() - clicked
        print(f"long-poll answered {latency * 1000:.0f} ms after the approval was clicked")
        assert latency < 5, "the waiter slept on after the decision"
        assert answer.status == 200
        assert answer.json["status"] == "approved"
        assert [a["person"] for a in answer.json["quorum"]["approvals"]] == ["mina"]
        assert answer.headers["ETag"] != tag
        unchanged = await agent.call(
            "GET", f"/api/v1/requests/{request_id}", **{"If-None-Match": answer.headers["ETag"]}
        )
        assert unchanged.status == 304
        cancel = await agent.call(
            "POST", f"/api/v1/requests/{request_id}/cancel", {"reason": "too late"}
        )
        assert cancel.status == 409 and cancel.json["type"] == PROBLEM + "not-pending"


async def test_a_client_cancels_its_own_pending_request_and_lists_its_requests(
    tmp_path: Path,
) -> None:
    async with api_world(tmp_path) as world:
        agent = world.client(world.token("support-agent"))
        first = (await agent.open(body(activity="refund", version=None))).json["id"]
        second = (await agent.open(body())).json["id"]
        cancelled = await agent.call(
            "POST", f"/api/v1/requests/{second}/cancel", {"reason": "pipeline stopped"}
        )
        assert cancelled.status == 200 and cancelled.json["status"] == "cancelled"
        pending = await agent.call("GET", "/api/v1/requests?status=pending")
        assert [item["id"] for item in pending.json["items"]] == [first]
        everything = await agent.call("GET", "/api/v1/requests")
        assert [item["id"] for item in everything.json["items"]] == [second, first]
        events = await agent.call("GET", f"/api/v1/requests/{second}/events")
        assert [e["action"] for e in events.json["items"]] == ["requested", "cancelled"]
        who = await agent.call("GET", "/api/v1/whoami")
        assert who.json["may_request"] == {"support-chatbot": ["deploy", "refund"]}
