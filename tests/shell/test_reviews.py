"""Risk reviews through sweeps with an injected clock: reminders, escalation, completion, REM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.scheduling.sweep import run_sweep
from bot.services.ids import new_review_id
from tests.harness import CHECKLIST, T0, Harness, actor, build_policy, review_policy, with_reviews
from workflows.reviews import CompleteReview, ReviewStatus, RiskReview


async def _review(h: Harness) -> RiskReview:
    review = await h.reviews.open_review("credit-scoring")
    assert review is not None
    return review


def _texts_to(h: Harness, user: str) -> list[str]:
    return [c.message.text for c in h.chat.calls if c.destination == user]


async def _sweep_at(h: Harness, moment: datetime) -> None:
    h.clock.now = moment
    await run_sweep(h.runtime(), moment)


async def test_a_review_due_in_30_days_is_reminded_escalated_and_completed(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    await _sweep_at(h, T0)
    review = await _review(h)
    due = T0 + timedelta(days=30)  # T0 is 09:00 UTC, the default reminder hour and zone
    assert review.due_at == due

    await _sweep_at(h, due - timedelta(days=7, seconds=1))
    assert h.chat.calls == []
    for days_before in (7, 1, 0):
        await _sweep_at(h, due - timedelta(days=days_before))
        await _sweep_at(h, due - timedelta(days=days_before) + timedelta(minutes=1))
    reminders = [t for t in _texts_to(h, "U0SOO") if t.startswith("Reminder:")]
    assert [t.split(" is due ")[1].split(" (")[0] for t in reminders] == [
        "in 7 days",
        "in 1 day",
        "today",
    ]
    assert len([t for t in _texts_to(h, "U0MINA") if t.startswith("Reminder:")]) == 3

    await _sweep_at(h, due + timedelta(hours=23))
    assert not any("overdue" in t for t in _texts_to(h, "U0CDAO"))
    await _sweep_at(h, due + timedelta(days=1))
    await _sweep_at(h, due + timedelta(days=2))
    assert len([t for t in _texts_to(h, "U0CDAO") if "overdue" in t]) == 1
    assert len([t for t in _texts_to(h, "C0GOV") if "overdue" in t]) == 1

    h.clock.now = due + timedelta(days=2, hours=3)
    done = await h.reviews.handle(
        CompleteReview(
            review_id=review.id,
            actor=actor("mina"),
            checked=CHECKLIST,
            notes="Drift within bounds.",
            next_review_id=new_review_id(),
        )
    )
    assert done.ok, done
    following = await _review(h)
    assert following.id != review.id
    assert following.due_at == datetime(2026, 12, 4, 9, 0, tzinfo=UTC) + timedelta(days=30)
    ledger = [(e.action, e.subject_id) for e in await h.ledger()]
    assert [a for a, s in ledger if s == review.id] == [
        "review-scheduled",
        "review-reminded",
        "review-reminded",
        "review-reminded",
        "review-escalated",
        "review-completed",
    ]
    assert ("review-scheduled", following.id) in ledger
    assert await h.chain_ok()


async def test_completion_rules(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    await _sweep_at(h, T0)
    review = await _review(h)

    def complete(person: str | None, **extra: Any) -> CompleteReview:
        return CompleteReview(
            review_id=review.id, actor=actor(person), next_review_id=new_review_id(), **extra
        )

    soo = await h.reviews.handle(complete("soo", checked=CHECKLIST))
    assert not soo.ok and soo.code == "not-accountable" and "Only Mina Park" in soo.message
    gaps = await h.reviews.handle(complete("mina", checked=CHECKLIST[:2]))
    assert not gaps.ok and "Compliance, Incidents since the last review" in gaps.message
    stale = await h.reviews.handle(complete("mina", checked=CHECKLIST, revision=7))
    assert not stale.ok and stale.code == "stale"
    ok = await h.reviews.handle(complete("jae", checked=CHECKLIST[:1], notes="Audit pending."))
    assert ok.ok
    again = await h.reviews.handle(complete("mina", checked=CHECKLIST))
    assert not again.ok and "already completed by Jae Kim" in again.message
    done = [e for e in await h.ledger() if e.subject_id == review.id]
    assert [e.action for e in done].count("denied") == 3  # soo, stale and the second completion
    completed = next(e for e in done if e.action == "review-completed")
    assert completed.data["unchecked"] == list(CHECKLIST[1:])
    assert completed.actor_person == "jae"


async def test_rem_01_reminders_missed_while_down_are_skipped_not_burst(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    await _sweep_at(h, T0)
    due = (await _review(h)).due_at
    # Within the grace (before the next reminder's moment): the late reminder still goes.
    await _sweep_at(h, due - timedelta(days=7) + timedelta(minutes=10))
    assert len([t for t in _texts_to(h, "U0SOO") if "in 7 days" in t]) == 1
    # Down across the 1-day and same-day moments: only the latest goes, the other is skipped.
    await _sweep_at(h, due + timedelta(hours=2))
    reminders = [t for t in _texts_to(h, "U0SOO") if t.startswith("Reminder:")]
    assert [t for t in reminders if "in 1 day" in t] == []
    assert len([t for t in reminders if "today" in t]) == 1
    reminded = [e for e in await h.ledger() if e.action == "review-reminded"]
    assert [(e.data["days_before"], e.data["skipped"]) for e in reminded] == [(7, []), (0, [1])]


async def test_rem_04_weekly_reminders_stay_at_nine_berlin_time_across_dst(
    engine: AsyncEngine,
) -> None:
    """Sweeps a minute before, at and after each reminder: exactly one, at 09:00 local."""

    def weekly(raw: dict[str, Any]) -> None:
        with_reviews(raw, remind_days_before=[0])
        raw["timezone"] = "Europe/Berlin"
        raw["systems"]["credit-scoring"]["overrides"] = {"review_every": "7d"}

    h = Harness(engine)
    h.policies.replace(build_policy(weekly))
    berlin = ZoneInfo("Europe/Berlin")
    # Summer time began on 29 March 2026 and ended on 25 October 2026.
    await _sweep_at(h, datetime(2026, 3, 10, 12, 0, tzinfo=berlin).astimezone(UTC))
    reminded_at: list[datetime] = []

    async def reminders() -> int:
        return sum(e.action == "review-reminded" for e in await h.ledger())

    nine = datetime(2026, 3, 17, 9, 0, tzinfo=berlin)
    while nine.month < 11 or nine.day < 10:
        moment = nine.astimezone(UTC)
        before = await reminders()
        await _sweep_at(h, moment - timedelta(minutes=1))
        assert await reminders() == before, f"a reminder before 09:00 on {nine.date()}"
        await _sweep_at(h, moment)
        assert await reminders() == before + 1, f"no reminder at 09:00 on {nine.date()}"
        await _sweep_at(h, moment + timedelta(minutes=1))
        assert await reminders() == before + 1
        reminded_at.append(moment)
        h.clock.now = moment + timedelta(minutes=5)
        review = await _review(h)
        await h.reviews.handle(
            CompleteReview(
                review_id=review.id,
                actor=actor("mina"),
                checked=CHECKLIST,
                next_review_id=new_review_id(),
            )
        )
        nine = datetime.combine(nine.date() + timedelta(days=7), nine.timetz())
    assert len(reminded_at) == 34
    utc_hours = {m.hour for m in reminded_at}
    assert utc_hours == {7, 8}  # 09:00 in summer and in winter time


async def test_rem_05_the_next_reminder_goes_to_the_new_accountable(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    await _sweep_at(h, T0)
    due = (await _review(h)).due_at
    await _sweep_at(h, due - timedelta(days=7))
    assert any(t.startswith("Reminder:") for t in _texts_to(h, "U0MINA"))

    def new_lead(raw: dict[str, Any]) -> None:
        with_reviews(raw)
        raw["roles"]["ai-governance-lead"]["members"] = ["ines", "jae", "lee"]

    h.policies.replace(build_policy(new_lead))
    await _sweep_at(h, due - timedelta(days=1))
    assert [t for t in _texts_to(h, "U0INES") if "in 1 day" in t]
    assert not [t for t in _texts_to(h, "U0MINA") if "in 1 day" in t]


@pytest.mark.parametrize("subject", ["request", "review"])
async def test_rem_07_a_clock_jumping_back_sends_nothing_twice(
    engine: AsyncEngine, subject: str
) -> None:
    h = Harness(engine)
    h.policies.replace(review_policy())
    await _sweep_at(h, T0)
    if subject == "request":
        await h.open("soo")
        first = T0 + timedelta(hours=5)  # reminded at 4 h; the next reminder at 9 h
    else:
        first = (await _review(h)).due_at - timedelta(days=7)
    await _sweep_at(h, first)
    sent = len(h.chat.calls)
    assert sent > 0
    for back in (timedelta(hours=1), timedelta(minutes=1), timedelta(0)):
        await _sweep_at(h, first - back)
    assert len(h.chat.calls) == sent


async def test_rem_03_a_request_decided_just_before_its_reminder_is_not_reminded(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="doc-search")  # reminded after 72 h
    h.clock.now = T0 + timedelta(hours=72) - timedelta(seconds=1)
    assert (await h.answer(rid, "mina")).ok
    await _sweep_at(h, T0 + timedelta(hours=72))
    assert not any(c.message.text.startswith("Reminder:") for c in h.chat.calls)
    assert (await h.state(rid)).status.value == "approved"


async def test_systems_without_a_review_raci_are_scheduled_but_not_chased(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)  # the base policy has no risk-review RACI at all
    await _sweep_at(h, T0)
    for system in ("credit-scoring", "doc-search", "support-bot"):
        review = await h.reviews.open_review(system)
        assert review is not None and review.status is ReviewStatus.DUE
    report = await run_sweep(h.runtime(), T0 + timedelta(days=400))
    assert report.reviews_ticked == 0 and h.chat.calls == []
    h.policies.replace(build_policy(with_reviews))  # a reload names who answers for it
    h.clock.now = T0 + timedelta(days=400)
    report = await run_sweep(h.runtime(), h.clock.now)
    assert report.reviews_ticked == 1
    assert any("overdue" in t for t in _texts_to(h, "U0CDAO"))
