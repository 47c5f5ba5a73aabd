"""AUD-01: a decision, its ledger entries and its messages are stored together or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.tables import ledger_entries, ledger_head
from tests.harness import Harness
from workflows.ledger import format_time
from workflows.model import Status, Verdict


async def test_an_approval_entry_carries_every_field(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="doc-search")
    await h.answer(rid, "mina")
    requested, approved = await h.ledger()
    assert approved.model_dump(exclude={"hash", "prev_hash"}) == {
        "seq": 2,
        "at": format_time(h.clock.now),
        "actor_person": "mina",
        "actor_platform": "slack",
        "actor_platform_user_id": "U0MINA",
        "action": "approved",
        "subject_type": "request",
        "subject_id": rid,
        "data": {"activity": "deploy", "approvers": ["mina"], "tally": "1 of 1 approvals"},
        "policy_digest": h.policies.current.digest,
    }
    assert approved.prev_hash == requested.hash
    assert requested.data["system"] == "doc-search" and requested.actor_person == "soo"
    assert format_time(h.clock.now).endswith("Z") and "." in requested.at


async def test_an_approvers_words_are_in_the_ledger_as_a_rejections_reason_is(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="credit-scoring")
    await h.answer(rid, "dan", verdict=Verdict.NO_OBJECTION)  # consulted first
    await h.answer(rid, "mina", comment="model card reviewed")
    await h.answer(rid, "jae", comment="ok to ship")
    *_, voted, approved = await h.ledger()
    assert (voted.action, voted.data["comment"]) == ("voted", "model card reviewed")
    assert (approved.action, approved.data["comment"]) == ("approved", "ok to ship")


async def test_a_failed_ledger_write_leaves_no_decision_behind(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="doc-search")
    outbox_before = await h.outbox_messages(rid)
    # Occupy the next seq behind the store's back, so the ledger insert hits a real constraint.
    row = (await h.ledger())[-1].model_dump()
    async with engine.begin() as conn:
        head = (await conn.execute(select(ledger_head.c.seq))).scalar_one()
        row.update(seq=head + 1, hash="f" * 64, data="{}")
        await conn.execute(insert(ledger_entries).values(**row))
    with pytest.raises(IntegrityError):
        await h.answer(rid, "mina")
    state = await h.state(rid)
    assert state.status is Status.PENDING and state.approvals == ()
    assert await h.vote_rows(rid) == []
    assert await h.outbox_messages(rid) == outbox_before
