"""One scheduler pass: due requests are reminded, escalated and expired once, in time order."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import Runtime
from bot.scheduling.sweep import run_sweep
from bot.storage.tables import approval_requests
from tests.harness import T0, Harness, Policies, build_policy
from workflows.model import Status


def _runtime(h: Harness) -> Runtime:
    return h.runtime()


async def test_a_high_tier_request_is_reminded_escalated_and_expired(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo")  # high tier: remind 4h, escalate 24h, expire 72h
    decided = await h.open("soo", system="doc-search")
    await h.answer(decided, "mina")
    runtime = _runtime(h)

    h.clock.now = T0 + timedelta(hours=3, minutes=59)
    assert (await run_sweep(runtime, h.clock.now)).ticked == 0

    h.clock.now = T0 + timedelta(hours=4)
    report = await run_sweep(runtime, h.clock.now)
    assert report.ticked == 1  # the decided request is never ticked
    reminders = [c for c in h.chat.calls if c.message.text.startswith("Reminder:")]
    assert {c.destination for c in reminders} == {"U0MINA", "U0JAE", "U0LEE", "U0DAN"}
    again = await run_sweep(runtime, h.clock.now)  # a second sweep at the same time: nothing
    assert again.ticked == 0

    h.clock.now = T0 + timedelta(hours=24)
    await run_sweep(runtime, h.clock.now)
    state = await h.state(rid)
    assert state.escalated and state.reminders_sent == 1
    assert state.remind_at == h.clock.now + timedelta(hours=4)
    assert h.chat.posts_to("U0CDAO")  # the backup got an approval card
    assert (await run_sweep(runtime, h.clock.now)).ticked == 0

    h.clock.now = T0 + timedelta(hours=72)
    await run_sweep(runtime, h.clock.now)
    assert (await h.state(rid)).status is Status.EXPIRED
    actions = await h.actions(rid)
    assert actions.count("expired") == 1 and actions.count("escalated") == 1
    told = [c.message.text for c in h.chat.calls if c.destination == "U0SOO"]
    assert any("expired unanswered" in t for t in told)


async def test_two_sweeps_at_once_send_each_reminder_once(engine: AsyncEngine) -> None:
    from tests.harness import review_policy

    h = Harness(engine)
    h.policies.replace(review_policy())
    requests = [await h.open("soo") for _ in range(5)]
    await run_sweep(h.runtime(), T0)  # schedules the first review
    h.clock.now = T0 + timedelta(days=23)  # every request expired, the review reminded
    other = Harness(engine, policies=h.policies, clock=h.clock, chat=h.chat)
    await asyncio.gather(
        run_sweep(h.runtime(), h.clock.now), run_sweep(other.runtime(), h.clock.now)
    )
    actions = [e.action for e in await h.ledger()]
    assert actions.count("expired") == len(requests)
    assert actions.count("review-reminded") == 1
    reminders = [c for c in h.chat.calls if "risk review" in c.message.text]
    assert len({c.destination for c in reminders}) == len(reminders) == 4  # R and A, once each
    assert [(await h.state(r)).status for r in requests] == [Status.EXPIRED] * len(requests)
    assert await h.chain_ok()


async def test_one_systems_failure_in_a_sweep_is_logged_counted_and_the_others_go_on(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    def absurd(raw: dict[str, Any]) -> None:
        # What `review_every: 999999w` gave before the schema bounded durations; a policy
        # built in code can still say it.
        raw["systems"]["doc-search"]["overrides"] = {"review_every": timedelta(weeks=999999)}

    h = Harness(engine, policies=Policies.of(build_policy(absurd)))
    rid = await h.open("soo")
    h.clock.now = T0 + timedelta(hours=4)
    with caplog.at_level(logging.ERROR, logger="signoff.scheduler"):
        report = await run_sweep(h.runtime(), h.clock.now)
    assert report.failed == 1 and report.ticked == 1 and report.reviews_scheduled == 2
    assert "1 failed" in report.summary()
    assert "first review of system doc-search failed and was skipped" in caplog.text
    assert (await h.state(rid)).reminders_sent == 1
    assert any(c.message.text.startswith("Reminder:") for c in h.chat.calls)
    assert 'signoff_sweep_failures_total{stage="first-review"} 1.0' in h.metrics.render().decode()


async def test_a_request_row_that_cannot_be_read_does_not_stop_the_sweep(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(engine)
    broken, fine = await h.open("soo"), await h.open("soo")
    async with engine.begin() as conn:
        await conn.execute(
            update(approval_requests)
            .where(approval_requests.c.id == broken)
            .values(state='{"damaged": true}')
        )
    h.clock.now = T0 + timedelta(hours=4)
    with caplog.at_level(logging.ERROR, logger="signoff.scheduler"):
        report = await run_sweep(h.runtime(), h.clock.now)
    assert report.ticked == 1 and report.failed == 1
    assert f"request {broken} failed and was skipped" in caplog.text
    assert (await h.state(fine)).reminders_sent == 1
    assert 'signoff_sweep_failures_total{stage="request"} 1.0' in h.metrics.render().decode()
