"""Named activities through the service and a real database: who may ask, the rate limit,
the activity's own RACI and rules, and requests nobody but the asker could decide."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.approvals import ApprovalService
from bot.storage.tables import approval_requests
from tests.activity_policy import with_data_access
from tests.harness import Harness, Policies, actor, build_policy
from workflows.commands import Freeze, OpenRequest
from workflows.model import Status, Verdict


def _harness(engine: AsyncEngine, change: Any = with_data_access) -> Harness:
    return Harness(engine, Policies.of(build_policy(change)))


def _ask(
    who: str | None, activity: str = "data-access", system: str = "credit-scoring", **extra: Any
) -> OpenRequest:
    return OpenRequest(
        request_id=f"R{abs(hash((who, activity, system, str(extra)))) % 10**10:010d}",
        actor=actor(who),
        system=system,
        activity=activity,
        **extra,
    )


async def test_a_data_access_request_follows_its_own_raci_and_rules(engine: AsyncEngine) -> None:
    h = _harness(engine)
    outcome = await h.service.handle(_ask("dan", reason="fraud study"))
    assert outcome.ok, outcome
    assert "for data access to credit-scoring is open; asked Ines Faro and Ada Chief" in (
        outcome.message
    )
    rid = _ask("dan", reason="fraud study").request_id
    state = await h.state(rid)
    assert (state.activity, state.quorum, state.consulted) == ("data-access", 1, ("soo",))
    assert state.expires_at - state.opened_at == timedelta(hours=24)
    await h.relay.drain()
    # The data owners and the Consulted get cards, the Informed (jae) a read-only one; the
    # deploy Accountable are not asked, and deploy's Informed channel hears nothing.
    assert {c.destination for c in h.chat.calls if c.kind == "post"} == {
        "U0INES",
        "U0CDAO",
        "U0SOO",
        "U0JAE",
    }
    refused = await h.answer(rid, "mina")
    assert refused.code == "not-accountable"
    assert "Only the Accountable for data access to credit-scoring" in refused.message
    assert (await h.answer(rid, "cdao")).code == "approved"
    ledger = [e for e in await h.ledger() if e.subject_id == rid]
    assert [e.action for e in ledger] == ["requested", "denied", "approved"]
    assert {e.data["activity"] for e in ledger} == {"data-access"}
    async with engine.connect() as conn:
        stored = await conn.scalar(
            select(approval_requests.c.activity).where(approval_requests.c.id == rid)
        )
    assert stored == "data-access"


async def test_issue13_11_only_the_responsible_may_ask_and_a_refusal_is_audited(
    engine: AsyncEngine,
) -> None:
    h = _harness(engine)
    for who in ("soo", "out", None):  # deploy's Responsible, a known outsider, a stranger
        command = _ask(who)
        outcome = await h.service.handle(command)
        assert (outcome.ok, outcome.code) == (False, "not-responsible")
        assert outcome.message == (
            "Only the Responsible for data access to credit-scoring may ask for it: "
            "security-compliance (Dan Ruiz)."
        )
        entry = (await h.ledger())[-1]
        assert (entry.action, entry.subject_id, entry.actor_person) == (
            "denied",
            command.request_id,
            who,
        )
        assert entry.data["reason"] == "not-responsible"
        assert entry.data["activity"] == "data-access"
    async with engine.connect() as conn:
        assert (await conn.execute(select(approval_requests.c.id))).all() == []
    assert await h.outbox_count("pending") == 0


async def test_an_unknown_activity_names_the_systems_activities(engine: AsyncEngine) -> None:
    h = _harness(engine)
    outcome = await h.service.handle(_ask("dan", activity="refund"))
    assert outcome.code == "unknown-activity"
    assert outcome.message == (
        "credit-scoring has no approval activity 'refund'; its activities are: deploy, data-access."
    )
    review = await h.service.handle(_ask("soo", activity="risk-review"))
    assert "Risk reviews are started with 'review credit-scoring'" in review.message
    assert await h.ledger() == []


async def test_issue13_11_a_person_at_the_hourly_limit_is_told_when_to_ask_again(
    engine: AsyncEngine,
) -> None:
    h = _harness(engine)
    service = ApprovalService(h.uow, requests_per_hour=2)
    opened = [await service.handle(_ask("dan", reason=str(n))) for n in range(2)]
    assert all(o.ok for o in opened)
    h.clock.advance(minutes=30)
    limited = await service.handle(_ask("dan", reason="third"))
    assert (limited.ok, limited.code) == (False, "rate-limited")
    assert limited.message == (
        "You opened 2 requests in the past hour, as many as one person may, so nothing was "
        "opened. You can ask again at 2026-11-02 10:00 UTC."
    )
    assert len(await h.ledger()) == 2
    # Someone else is not held back by dan's requests, and dan may ask again after the hour.
    assert (await service.handle(_ask("soo", activity="deploy", version="1"))).ok
    h.clock.advance(minutes=30)
    assert (await service.handle(_ask("dan", reason="fourth"))).ok


def _asker_alone(backup: list[str]) -> Any:
    def edit(raw: dict[str, Any]) -> None:
        raw["roles"]["ai-governance-lead"] = {"members": ["mina"], "backup": backup}
        deploy = raw["systems"]["doc-search"]["raci"]["deploy"]
        deploy["responsible"] = ["ml-engineer", "mina"]

    return edit


async def test_issue13_7_when_the_asker_is_the_only_approver_the_backup_is_asked_at_once(
    engine: AsyncEngine,
) -> None:
    h = _harness(engine, _asker_alone(["cdao"]))
    command = _ask("mina", activity="deploy", system="doc-search", version="2.0")
    outcome = await h.service.handle(command)
    assert outcome.ok, outcome
    assert "asked Ada Chief to approve (1 needed)" in outcome.message
    assert "the backup (Ada Chief) was asked at once" in outcome.message
    state = await h.state(command.request_id)
    assert state.escalated
    await h.relay.drain()
    assert [c.destination for c in h.chat.calls if c.kind == "post"] == ["U0CDAO"]
    assert (await h.answer(command.request_id, "mina")).code == "self-approval"
    assert (await h.answer(command.request_id, "cdao")).code == "approved"


async def test_issue13_7_a_request_nobody_but_the_asker_could_decide_is_not_opened(
    engine: AsyncEngine,
) -> None:
    h = _harness(engine, _asker_alone([]))
    command = _ask("mina", activity="deploy", system="doc-search", version="2.0")
    outcome = await h.service.handle(command)
    assert (outcome.ok, outcome.code) == (False, "no-approver")
    assert outcome.message.startswith("Nobody but you could approve deploy doc-search:")
    async with engine.connect() as conn:
        assert (await conn.execute(select(approval_requests.c.id))).all() == []
    assert await h.outbox_count("pending") == 0


async def test_an_incident_freezes_deploy_but_data_access_only_when_the_policy_says(
    engine: AsyncEngine,
) -> None:
    h = _harness(engine)
    deploy = await h.open("soo", system="credit-scoring")
    data = _ask("dan")
    assert (await h.service.handle(data)).ok
    for rid in (deploy, data.request_id):
        await h.service.handle(Freeze(request_id=rid, incident_id="I1"))
    assert (await h.state(deploy)).frozen_by == "I1"
    assert (await h.state(data.request_id)).frozen_by is None
    assert (await h.answer(data.request_id, "ines")).code == "approved"

    def freezing(raw: dict[str, Any]) -> None:
        with_data_access(raw)
        raw["systems"]["credit-scoring"]["raci"]["data-access"]["incident_freezes"] = True

    h.policies.replace(build_policy(freezing))
    frozen = _ask("dan", reason="again", frozen_by="I1")
    refused = await h.service.handle(frozen)
    assert refused.code == "frozen"
    assert refused.message == (
        "Data access to credit-scoring is frozen while incident I1 is open; ask again once it "
        "is closed."
    )


async def test_the_card_and_the_status_name_the_activity(engine: AsyncEngine) -> None:
    h = _harness(engine)
    command = _ask("dan", environment="prod")
    await h.service.handle(command)
    card = await h.service.card_for(command.request_id, "ines")
    assert card is not None
    assert card.title == f"Request {command.request_id} for data access to credit-scoring in prod"
    assert card.buttons == (Verdict.APPROVE, Verdict.REJECT)
    assert ("Accountable", "data-owner (Ines Faro and Ada Chief)") in card.raci
    waiting = await h.service.waiting_on(actor("ines"))
    assert waiting.startswith(f"Request {command.request_id} for data access to credit-scoring")
    h.clock.advance(hours=25)
    await h.tick(command.request_id)
    state = await h.state(command.request_id)
    assert state.status is Status.EXPIRED
    await h.relay.drain()
    told = [c.message.text for c in h.chat.calls if c.destination == "U0DAN"]
    assert any("expired unanswered" in t and "nothing was granted" in t for t in told), told
