"""The approval flow through the service, a real database and FakeChat."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import Harness
from workflows.model import Status, Verdict


async def test_high_tier_request_reaches_everyone_and_two_approvals_decide(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    rid = await h.open("soo")
    await h.relay.drain()
    # Accountable members get approver cards, Consulted a consult card, Informed a post.
    for person in ("U0MINA", "U0JAE", "U0LEE"):
        card = h.chat.latest_card(person)
        assert card is not None and card.card is not None
        assert [b.value for b in card.card.buttons] == ["approve", "reject"]
    dan = h.chat.latest_card("U0DAN")
    assert dan is not None and dan.card is not None
    assert [b.value for b in dan.card.buttons] == ["no-objection", "concern"]
    assert h.chat.posts_to("C0GOV") and h.chat.posts_to("U0INES")
    assert h.chat.posts_to("U0SOO") == []  # the requester gets no card

    early = await h.answer(rid, "mina")
    assert not early.ok and early.code == "consultation-pending"
    assert "Dan Ruiz" in early.message

    await h.consult_all(rid)
    first = await h.answer(rid, "mina")
    assert first.ok and first.code == "voted"
    second = await h.answer(rid, "jae")
    assert second.ok and second.code == "approved"

    state = await h.state(rid)
    assert state.status is Status.APPROVED
    assert set(state.approvers()) == {"mina", "jae"}
    await h.relay.drain()
    # Every copy of the card is re-rendered without buttons; the requester is told.
    for person in ("U0MINA", "U0JAE", "U0LEE", "U0DAN"):
        card = h.chat.latest_card(person)
        assert card is not None and card.card is not None
        assert card.card.buttons == () and card.card.status is Status.APPROVED
    told = [c.message.text for c in h.chat.calls if c.destination == "U0SOO"]
    assert any("approved by Mina Park and Jae Kim" in t for t in told)
    assert any("approved" in c.message.text for c in h.chat.posts_to("C0GOV")[1:])
    assert await h.actions(rid) == ["requested", "denied", "consulted", "voted", "approved"]
    assert await h.chain_ok()


async def test_reject_needs_a_reason_and_vetoes(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="support-bot")
    blank = await h.answer(rid, "mina", Verdict.REJECT, "  ")
    assert not blank.ok and blank.code == "reason-required"
    assert await h.actions(rid) == ["requested"]  # bad input is not audited, changes nothing
    assert (await h.answer(rid, "jae")).code == "voted"
    rejected = await h.answer(rid, "mina", Verdict.REJECT, "bias audit missing")
    assert rejected.code == "rejected"
    state = await h.state(rid)
    assert state.status is Status.REJECTED
    assert state.rejection is not None and state.rejection.comment == "bias audit missing"
    late = await h.answer(rid, "lee")
    assert not late.ok and late.code == "decided"
    assert "rejected by Mina Park" in late.message


async def test_concern_needs_a_comment_and_reaches_the_accountable(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo")
    assert (await h.answer(rid, "dan", Verdict.CONCERN)).code == "comment-required"
    assert (await h.answer(rid, "dan", Verdict.CONCERN, "PII in the training set")).ok
    await h.relay.drain()
    texts = [
        c.message.text for c in h.chat.calls if c.destination == "U0MINA" and not c.message.card
    ]
    assert any("PII in the training set" in t for t in texts)
    dan = h.chat.latest_card("U0DAN")
    assert dan is not None and dan.card is not None and dan.card.buttons == ()


async def test_the_ledger_pins_the_policy_digest(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="doc-search")
    assert (await h.state(rid)).policy_digest == h.policies.current.digest
    entries = await h.ledger()
    assert {e.policy_digest for e in entries} == {h.policies.current.digest}
