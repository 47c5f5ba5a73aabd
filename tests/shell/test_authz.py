"""Who may decide: AUTHZ-01..16 and 21 of the security checklist, through the service."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.approvals import ApprovalService
from bot.services.unit_of_work import UnitOfWork
from tests.harness import T0, Harness, Policies, build_policy
from workflows.commands import Tick
from workflows.machine_types import Outcome
from workflows.model import Status, Verdict


async def _quorum_one(h: Harness) -> str:
    return await h.open("soo", system="doc-search")


def _responsible_too(person: str) -> Policies:
    """The base policy, where `person` may also ask to deploy doc-search."""

    def edit(raw: dict[str, Any]) -> None:
        raw["systems"]["doc-search"]["raci"]["deploy"]["responsible"].append(person)

    return Policies.of(build_policy(edit))


async def _denied(h: Harness, rid: str, outcome: Outcome, code: str) -> None:
    assert not outcome.ok and outcome.code == code, outcome
    assert (await h.state(rid)).status is Status.PENDING
    entry = (await h.ledger())[-1]
    assert entry.action == "denied" and entry.data["reason"] == code


async def test_authz_01_accountable_approves(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await h.relay.drain()
    outcome = await h.answer(rid, "mina")
    assert outcome.code == "approved"
    assert await h.vote_rows(rid) == [("mina", "approval")]
    assert (await h.actions(rid)).count("approved") == 1
    updates = [m for m in await h.outbox_messages(rid) if m["kind"] == "update"]
    assert len(updates) == 3  # mina's, jae's and lee's cards
    await h.relay.drain()
    for person in ("U0MINA", "U0JAE", "U0LEE"):
        card = h.chat.latest_card(person)
        assert card is not None and card.card is not None and card.card.buttons == ()


async def test_authz_02_outsider_is_refused_and_audited(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await _denied(h, rid, await h.answer(rid, "out"), "not-accountable")
    assert await h.vote_rows(rid) == []
    unknown = await h.answer(rid, None)
    await _denied(h, rid, unknown, "unknown-person")


async def test_authz_03_consulted_and_informed_cannot_approve(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo")
    await _denied(h, rid, await h.answer(rid, "dan"), "not-accountable")
    await _denied(h, rid, await h.answer(rid, "ines"), "not-accountable")


async def test_authz_04_requester_who_is_accountable_cannot_approve(engine: AsyncEngine) -> None:
    h = Harness(engine, _responsible_too("mina"))
    rid = await h.open("mina", system="doc-search")
    await _denied(h, rid, await h.answer(rid, "mina"), "self-approval")
    await _denied(h, rid, await h.answer(rid, "mina", Verdict.REJECT, "x"), "self-approval")


async def test_authz_05_a_bot_request_on_behalf_of_a_person(engine: AsyncEngine) -> None:
    h = Harness(engine, _responsible_too("jae"))
    rid = await h.open(None, system="doc-search", on_behalf_of="jae")
    await _denied(h, rid, await h.answer(rid, "jae"), "self-approval")
    # The service account itself is no person in the policy and can never approve.
    await _denied(h, rid, await h.answer(rid, None), "unknown-person")
    assert (await h.answer(rid, "mina")).code == "approved"


async def test_authz_06_quorum_two_counts_a_repeat_once(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")
    assert (await h.answer(rid, "mina")).code == "voted"
    again = await h.answer(rid, "mina")
    assert again.ok and again.code == "already-voted"
    assert await h.vote_rows(rid) == [("mina", "approval")]
    assert (await h.actions(rid)) == ["requested", "voted"]
    assert (await h.answer(rid, "jae")).code == "approved"


async def test_authz_07_one_person_on_two_platforms_counts_once(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")
    assert (await h.answer(rid, "mina", platform="slack")).code == "voted"
    on_teams = await h.answer(rid, "mina", platform="teams")
    assert on_teams.code == "already-voted"
    assert (await h.state(rid)).status is Status.PENDING


async def test_authz_08_one_rejection_vetoes(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")
    await h.answer(rid, "mina")
    assert (await h.answer(rid, "jae", Verdict.REJECT, "not ready")).code == "rejected"
    late = await h.answer(rid, "lee")
    assert late.code == "decided"
    assert (await h.state(rid)).status is Status.REJECTED


async def test_authz_09_a_revoked_role_no_longer_counts(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)

    def drop_mina(raw: dict[str, Any]) -> None:
        raw["roles"]["ai-governance-lead"]["members"] = ["jae", "lee"]

    h.policies.replace(build_policy(drop_mina))
    await _denied(h, rid, await h.answer(rid, "mina"), "not-accountable")


async def test_authz_10_a_role_granted_after_posting_counts(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)

    def add_dan(raw: dict[str, Any]) -> None:
        raw["roles"]["ai-governance-lead"]["members"].append("dan")

    h.policies.replace(build_policy(add_dan))
    assert (await h.answer(rid, "dan")).code == "approved"


async def test_authz_11_a_click_on_a_decided_request_heals_the_card(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await h.relay.drain()
    await h.answer(rid, "mina")
    await h.relay.drain()
    sent = len(h.chat.calls)
    late = await h.answer(rid, "jae")
    assert late.code == "decided"
    assert "approved by Mina Park at 2026-11-02 09:00 UTC" in late.message
    assert await h.vote_rows(rid) == [("mina", "approval")]
    await h.relay.drain()
    assert len(h.chat.calls) > sent  # the stale cards were re-rendered again


async def test_authz_12_a_click_after_expiry_is_refused(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    state = await h.state(rid)
    h.clock.now = state.expires_at + timedelta(seconds=1)
    late = await h.answer(rid, "mina")
    assert late.code == "decided" and "expired" in late.message
    assert (await h.state(rid)).status is Status.EXPIRED
    assert await h.actions(rid) == ["requested", "expired", "denied"]


async def test_authz_12_expiry_racing_a_click_has_one_winner(engine: AsyncEngine) -> None:
    """The click reads a clock a second before the deadline, the sweep one at the deadline;
    random delays decide who takes the row lock first, and exactly one of them wins."""
    h = Harness(engine)
    # Two hundred requests by one person at one moment, far past the hourly limit.
    h.service.requests_per_hour = 10_000
    deadline: list[datetime] = []
    sweeper = ApprovalService(
        UnitOfWork(engine, h.policies, {"slack": h.chat}, lambda: deadline[-1], h.metrics)
    )
    rng = random.Random(12)
    winners: Counter[Status] = Counter()

    async def after(delay: float, action: Awaitable[object]) -> None:
        await asyncio.sleep(delay)
        await action

    for n in range(200):
        h.clock.now = T0
        rid = await _quorum_one(h)
        deadline.append((await h.state(rid)).expires_at)
        h.clock.now = deadline[-1] - timedelta(seconds=1)
        await asyncio.gather(
            after(rng.uniform(0, 0.004), h.answer(rid, "mina")),
            # The scheduler ticks pages of requests; a lone tick takes the same lock.
            after(
                rng.uniform(0, 0.004),
                sweeper.tick_page([rid]) if n % 2 else sweeper.handle(Tick(request_id=rid)),
            ),
        )
        final = (await h.state(rid)).status
        assert final in (Status.APPROVED, Status.EXPIRED)
        decisions = [a for a in await h.actions(rid) if a in ("approved", "expired")]
        assert decisions == [final.value]
        winners[final] += 1
    assert await h.chain_ok()
    # Both orders really happened: this was a race, not a fixed sequence.
    assert winners[Status.APPROVED] > 20 and winners[Status.EXPIRED] > 20, winners


async def test_authz_13_a_card_of_another_revision_is_stale(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await _denied(h, rid, await h.answer(rid, "mina", revision=7), "stale")
    assert (await h.answer(rid, "mina", revision=1)).code == "approved"


async def test_authz_14_a_button_from_elsewhere_is_refused(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await h.relay.drain()
    forged = {"destination": "C0ELSEWHERE", "ts": "1"}
    await _denied(h, rid, await h.answer(rid, "mina", location=forged), "wrong-location")
    mina_card = h.chat.posts_to("U0MINA")[0].ref
    assert (await h.answer(rid, "mina", location=mina_card)).code == "approved"


async def test_authz_15_a_double_click_is_one_decision(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await h.relay.drain()
    outcomes = await asyncio.gather(
        h.answer(rid, "mina", delivery="click-1"), h.answer(rid, "mina", delivery="click-1")
    )
    assert sorted(o.code for o in outcomes) == ["approved", "duplicate"]
    assert await h.vote_rows(rid) == [("mina", "approval")]
    assert (await h.actions(rid)).count("approved") == 1
    updates = [m for m in await h.outbox_messages(rid) if m["kind"] == "update"]
    assert len(updates) == 3


async def test_authz_16_three_approvers_at_the_quorum_edge(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")
    outcomes = await asyncio.gather(*(h.answer(rid, p) for p in ("mina", "jae", "lee")))
    assert sorted(o.code for o in outcomes) == ["approved", "decided", "voted"]
    assert len(await h.vote_rows(rid)) == 2
    # Two approvals and a rejection at once: the lock orders them, and the audit follows it.
    rid = await h.open("soo", system="support-bot")
    await asyncio.gather(
        h.answer(rid, "mina"), h.answer(rid, "jae"), h.answer(rid, "lee", Verdict.REJECT, "no")
    )
    state = await h.state(rid)
    actions = [a for a in await h.actions(rid) if a != "requested"]
    assert state.status in (Status.APPROVED, Status.REJECTED)
    assert actions[-1] in ("approved", "rejected", "denied")
    assert sum(a in ("approved", "rejected") for a in actions) == 1
    assert await h.chain_ok()


async def test_authz_21_only_the_requester_cancels(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await _quorum_one(h)
    await _denied(h, rid, await h.cancel(rid, "mina"), "not-requester")
    assert (await h.cancel(rid, "soo")).code == "cancelled"
    assert (await h.state(rid)).status is Status.CANCELLED
    assert (await h.answer(rid, "mina")).code == "decided"
