"""The GitHub deployment gate end to end in one process: signed webhooks in over HTTP, people
deciding in Slack's stand-in, verdicts out to GitHub's stand-in with installation tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.github import gate_rows
from bot.storage.tables import api_requests
from tests.github.gate_world import GateWorld, gate_world
from tests.github_standin import INSTALLATION, deployment_event, signed_delivery
from workflows.github import GitHubGate
from workflows.model import Status


@pytest.fixture
async def gate(engine: AsyncEngine, tmp_path: Path) -> GateWorld:  # type: ignore[misc]
    async with gate_world(engine, tmp_path) as world:
        yield world


def _refused(world: GateWorld, status: int, kind: str) -> float:
    labels = {"platform": "github", "status": str(status), "kind": kind}
    found = world.h.metrics.registry.get_sample_value("signoff_inbound_refused_total", labels)
    return found or 0.0


async def test_a_signed_deployment_opens_a_request_for_the_mapped_system(gate: GateWorld) -> None:
    event = gate.event("acme/doc-search", sender="SOO-HAN")
    status, answer = await gate.deliver(event)
    assert status == 201 and answer["created"] is True, answer
    state = await gate.h.state(answer["request_id"])
    assert (state.system, state.activity, state.environment) == (
        "doc-search",
        "deploy",
        "production",
    )
    assert state.version == event["sha"]
    # The repository asks; the login that started the run is Soo, who may not approve it.
    assert (state.requester.platform, state.requester.platform_user_id) == (
        "github",
        "acme/doc-search",
    )
    assert state.on_behalf_of == "soo"
    run = event["deployment_callback_url"].split("/")[-2]
    assert state.ci is not None and state.ci.run_id == run
    assert state.ci.run_url == f"{gate.github.base_url}/acme/doc-search/actions/runs/{run}"
    assert "started by SOO-HAN" in (state.reason or "")
    assert await gate.h.actions(state.id) == ["requested"]

    await gate.h.relay.drain()
    # The approvers got their cards, and the waiting run a first comment, not a verdict.
    assert {c.args["channel"] for c in gate.slack.standin.called("chat.postMessage")} >= {"D0MINA"}
    card = json.dumps(gate.slack.card_for("D0MINA").args["blocks"])
    assert "GitHub acme/doc-search on behalf of Soo Han" in card
    [comment] = gate.github.reviews
    assert "state" not in comment.body and comment.status == 204
    assert comment.body["environment_name"] == "production"
    assert "is waiting: 0 of 1 approvals" in comment.body["comment"]
    assert comment.installation == INSTALLATION


async def test_an_environment_the_policy_does_not_map_is_rejected_saying_why(
    gate: GateWorld,
) -> None:
    status, answer = await gate.deliver(gate.event("acme/doc-search", environment="staging"))
    assert status == 200 and answer["state"] == "rejected"
    assert "maps no system to the staging environment" in answer["reason"]
    assert await gate.requests() == 0
    await gate.h.relay.drain()
    [verdict] = gate.github.verdicts()
    assert verdict.body["state"] == "rejected" and verdict.body["environment_name"] == "staging"
    assert "github: environments" in verdict.body["comment"]


async def test_bad_signatures_are_401_and_open_nothing(gate: GateWorld) -> None:
    body, headers = signed_delivery(gate.event())
    forged = signed_delivery(gate.event(), secret="not-the-secret")[1]
    tampered = body.replace(b"production", b"productioN")
    cases = [
        (body, {**headers, "X-Hub-Signature-256": forged["X-Hub-Signature-256"]}),
        (body, {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}),
        (tampered, headers),
        (body, {**headers, "X-Hub-Signature-256": "sha1=" + "0" * 40}),
    ]
    for sent, sent_headers in cases:
        status, answer = await gate.post(sent, sent_headers)
        assert status == 401, answer
    assert await gate.requests() == 0
    assert await gate.h.relay.drain() is not None and gate.github.reviews == []
    assert _refused(gate, 401, "signature") == 4


async def test_other_events_are_ignored_and_malformed_rules_are_400(gate: GateWorld) -> None:
    for event, payload in (("ping", {"zen": "Keep it simple."}), ("push", gate.event())):
        status, answer = await gate.deliver(payload, event=event)
        assert status == 200 and "ignored" in answer
    completed = {**gate.event(), "action": "completed"}
    assert (await gate.deliver(completed))[0] == 200
    elsewhere = deployment_event(
        "https://attacker.example/repos/acme/doc-search/actions/runs/1/deployment_protection_rule",
        repository="acme/doc-search",
    )
    other_repo = gate.event("acme/doc-search")
    other_repo["repository"]["full_name"] = "acme/credit-scoring"
    no_installation = {k: v for k, v in gate.event().items() if k != "installation"}
    for bad in (b"{not json", b"[" * 100_000, elsewhere, other_repo, no_installation):
        status, answer = await gate.deliver(bad)
        assert status == 400, answer
    assert await gate.requests() == 0
    assert _refused(gate, 400, "malformed") == 5


async def test_a_redelivered_webhook_opens_nothing_new(gate: GateWorld) -> None:
    event = gate.event()
    status, first = await gate.deliver(event, delivery="d-1")
    assert status == 201
    again = await asyncio.gather(*(gate.deliver(event, delivery=f"d-{n}") for n in range(2, 6)))
    assert {s for s, _ in again} == {200}
    assert {a["request_id"] for _, a in again} == {first["request_id"]}
    # A re-run of the job is another deployment of the same run: still the same request.
    rerun = await gate.deliver({**event, "deployment": {"id": 2}}, delivery="d-9")
    assert rerun == (200, {"request_id": first["request_id"], "created": False})
    assert await gate.requests() == 1
    assert await gate.h.actions(first["request_id"]) == ["requested"]


async def test_an_approval_in_slack_posts_approved_once_with_a_valid_installation_token(
    gate: GateWorld,
) -> None:
    event = gate.event()
    request_id = (await gate.deliver(event))[1]["request_id"]
    await gate.h.relay.drain()
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0MINA"), "approve") == 200
    assert (await gate.h.state(request_id)).status is Status.APPROVED
    await gate.h.relay.drain()
    [verdict] = gate.github.verdicts()
    assert verdict.body["state"] == "approved" and verdict.status == 204
    assert verdict.installation == INSTALLATION
    assert verdict.run_id == event["deployment_callback_url"].split("/")[-2]
    assert "approved by Mina Park" in verdict.body["comment"]
    # One installation token served the comment and the verdict.
    assert gate.github.token_requests == [INSTALLATION] and gate.github.refused_jwts == []

    # The same delivery again, once decided, tells GitHub nothing twice.
    assert (await gate.deliver(event, delivery="late"))[0] == 200
    await gate.h.relay.drain()
    assert len(gate.github.verdicts()) == 1


async def test_a_rejection_posts_rejected_with_the_reason(gate: GateWorld) -> None:
    request_id = (await gate.deliver(gate.event()))[1]["request_id"]
    await gate.h.relay.drain()
    assert await gate.slack.click("U0JAE", gate.slack.card_for("D0JAE"), "reject") == 200
    reason = gate.slack.standin.reason_submission("U0JAE", "no bias audit yet")
    response = await gate.slack.post(reason)
    assert response.status == 200
    assert (await gate.h.state(request_id)).status is Status.REJECTED
    await gate.h.relay.drain()
    [verdict] = gate.github.verdicts()
    assert verdict.body["state"] == "rejected"
    assert "rejected by Jae Kim" in verdict.body["comment"]
    assert "no bias audit yet" in verdict.body["comment"]


async def test_a_502_is_retried_and_the_verdict_arrives_once(gate: GateWorld) -> None:
    await gate.deliver(gate.event())
    await gate.h.relay.drain()
    gate.github.answer_reviews(502)
    assert await gate.slack.click("U0LEE", gate.slack.card_for("D0LEE"), "approve") == 200
    first = await gate.h.relay.drain()
    assert [v.status for v in gate.github.verdicts()] == [502]
    assert first.retried >= 1
    gate.h.clock.advance(seconds=5)
    await gate.h.relay.drain()
    verdicts = gate.github.verdicts()
    assert [v.status for v in verdicts] == [502, 204]
    assert {v.body["state"] for v in verdicts} == {"approved"}
    gate.h.clock.advance(minutes=10)
    await gate.h.relay.drain()
    assert len(gate.github.verdicts()) == 2
    assert await gate.h.outbox_count("pending") == 0


async def test_an_expired_request_answers_rejected_saying_why(gate: GateWorld) -> None:
    request_id = (await gate.deliver(gate.event()))[1]["request_id"]
    await gate.h.relay.drain()
    gate.h.clock.advance(days=15)
    await gate.h.tick(request_id)
    assert (await gate.h.state(request_id)).status is Status.EXPIRED
    await gate.h.relay.drain()
    [verdict] = gate.github.verdicts()
    assert verdict.body["state"] == "rejected"
    assert "expired" in verdict.body["comment"]


async def test_votes_on_the_way_are_told_as_comments(gate: GateWorld) -> None:
    request_id = (await gate.deliver(gate.event("acme/credit-scoring")))[1]["request_id"]
    await gate.h.relay.drain()
    assert await gate.slack.click("U0DAN", gate.slack.card_for("D0DAN"), "no-objection") == 200
    await gate.h.relay.drain()
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0MINA"), "approve") == 200
    await gate.h.relay.drain()
    comments = [r.body["comment"] for r in gate.github.reviews if "state" not in r.body]
    assert any("Dan Ruiz has no objection" in c for c in comments), comments
    assert any("1 of 2 approvals (Mina Park)" in c for c in comments), comments
    assert gate.github.verdicts() == []
    assert (await gate.h.state(request_id)).status is Status.PENDING


async def test_authz_05_whoever_started_the_run_cannot_approve_it(gate: GateWorld) -> None:
    gate.h.policies.replace(
        gate.h.policies.current.policy.model_copy(
            update={
                "people": {
                    **gate.h.policies.current.policy.people,
                    "mina": gate.h.policies.current.policy.people["mina"].model_copy(
                        update={"github": "mina-park"}
                    ),
                }
            }
        )
    )
    request_id = (await gate.deliver(gate.event(sender="mina-park")))[1]["request_id"]
    assert (await gate.h.state(request_id)).on_behalf_of == "mina"
    await gate.h.relay.drain()
    # Mina started the run, so she was not even asked; a click on another's card is refused.
    assert "D0MINA" not in {
        c.args["channel"] for c in gate.slack.standin.called("chat.postMessage")
    }
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0JAE"), "approve") == 200
    assert (await gate.h.state(request_id)).status is Status.PENDING
    assert await gate.h.actions(request_id) == ["requested", "denied"]
    assert await gate.slack.click("U0JAE", gate.slack.card_for("D0JAE"), "approve") == 200
    await gate.h.relay.drain()
    assert [v.body["state"] for v in gate.github.verdicts()] == ["approved"]


async def test_a_run_started_by_an_account_the_policy_does_not_know_is_rejected(
    gate: GateWorld,
) -> None:
    status, answer = await gate.deliver(gate.event(sender="someone-else"))
    assert status == 200 and answer["state"] == "rejected"
    assert "started by someone-else, whom the policy does not know" in answer["reason"]
    assert await gate.requests() == 0
    await gate.h.relay.drain()
    [verdict] = gate.github.verdicts()
    assert verdict.body["state"] == "rejected" and "github: login" in verdict.body["comment"]


async def test_a_rerun_of_a_decided_run_hears_the_verdict_again(gate: GateWorld) -> None:
    event = gate.event()
    request_id = (await gate.deliver(event))[1]["request_id"]
    await gate.h.relay.drain()
    assert await gate.slack.click("U0MINA", gate.slack.card_for("D0MINA"), "approve") == 200
    await gate.h.relay.drain()
    # The job is re-run in the same run: a new deployment waits, and is told what stands.
    rerun = await gate.deliver({**event, "deployment": {"id": 2}}, delivery="rerun")
    assert rerun == (200, {"request_id": request_id, "created": False})
    await gate.h.relay.drain()
    assert [v.body["state"] for v in gate.github.verdicts()] == ["approved", "approved"]
    assert await gate.requests() == 1


async def test_a_run_record_that_cannot_be_read_is_skipped_not_fatal(gate: GateWorld) -> None:
    request_id = (await gate.deliver(gate.event()))[1]["request_id"]
    policy = gate.h.policies.current.policy
    async with gate.h.engine.begin() as conn:
        assert len(await gate_rows(conn, [request_id], policy, gate.h.clock())) == 1
        await conn.execute(
            update(api_requests).where(api_requests.c.request_id == request_id).values(body="{")
        )
        # The vote or decision that touched the request goes on; only the run is not told.
        assert await gate_rows(conn, [request_id], policy, gate.h.clock()) == []


async def test_deliveries_at_once_open_one_request(gate: GateWorld) -> None:
    event = gate.event()
    answers = await asyncio.gather(*(gate.deliver(event, delivery=f"d-{n}") for n in range(6)))
    statuses = sorted(status for status, _ in answers)
    print("statuses of six deliveries at once:", statuses)
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 202}, answers
    assert {a["request_id"] for s, a in answers if s in (200, 201)} == {
        a["request_id"] for s, a in answers if s == 201
    }
    assert await gate.requests() == 1


async def test_a_long_environment_name_still_keys_one_request(gate: GateWorld) -> None:
    long_name = "production-" + "x" * 240
    gate.h.policies.replace(
        gate.h.policies.current.policy.model_copy(
            update={
                "github": GitHubGate(environments={"acme/doc-search": {long_name: "doc-search"}})
            }
        )
    )
    event = gate.event(environment=long_name)
    first, again = await gate.deliver(event), await gate.deliver(event, delivery="again")
    assert (first[0], again[0]) == (201, 200)
    assert first[1]["request_id"] == again[1]["request_id"]
