"""The console's indicators: figures from the stored requests, drawn as SVG on the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.console_kpis import indicators, percentile
from tests.console.site import console_policy, console_site
from workflows.commands import OpenRequest
from workflows.machine import step
from workflows.model import Actor, ApprovalRequest, Status
from workflows.reviews import ReviewStatus, RiskReview

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
POLICY = console_policy().current.policy


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([5.0], 0.5) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.9) == 4.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


async def test_indicators_count_decisions_expiries_and_sources(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("priya")
        decided = await browser.open("1.0", "search:deploy")
        harness.clock.advance(hours=3)
        await browser.act_as("kim")
        await browser.answer(decided, "approve")
        await browser.act_as("priya")
        expiring = await browser.open("1.1", "search:deploy")
        harness.clock.advance(days=15)  # minimal tier: expires after 14 days
        assert (await harness.tick(expiring)).ok
        await browser.act_as("lena")
        page = await browser.get("/indicators")
        facts = re.sub(r"\s+", " ", page[page.index('id="kpi-facts"') :])
        assert "Expired share</dt><dd>50 %" in facts
        assert '<desc id="decision-d">minimal p50: 3.0 h; minimal p90: 3.0 h</desc>' in page
        assert '<desc id="sources-d">console: 2</desc>' in page
        assert "approved: 1; rejected: 0; cancelled: 0; expired: 1" in page
        # Someone who sees neither request sees indicators of nothing.
        await browser.act_as("dan")
        assert '<desc id="sources-d">' not in await browser.get("/indicators")


def _review(review_id: str, due: datetime, done: datetime | None) -> RiskReview:
    return RiskReview(
        id=review_id,
        system="scoring",
        status=ReviewStatus.COMPLETED if done else ReviewStatus.DUE,
        scheduled_at=due - timedelta(days=30),
        due_at=due,
        completed_at=done,
        completed_by="mina" if done else None,
    )


def _opened(request_id: str, platform: str) -> ApprovalRequest:
    who = Actor(person=None if platform == "api" else "jae", platform=platform,
                platform_user_id="scoring-ci" if platform == "api" else "U0JAE")  # fmt: skip
    command = OpenRequest(request_id=request_id, actor=who, system="scoring", version="1")
    result = step(None, command, POLICY, NOW, "d" * 64)
    assert result.state is not None, result.outcome
    return result.state


def test_reviews_on_time_and_requests_by_source() -> None:
    reviews = [
        _review("V1", NOW - timedelta(days=10), NOW - timedelta(days=11)),  # on time
        _review("V2", NOW - timedelta(days=10), NOW - timedelta(days=8)),  # late
        _review("V3", NOW - timedelta(days=1), None),  # overdue, not done
        _review("V4", NOW + timedelta(days=5), None),  # not due yet: not judged
    ]
    states = [_opened("R1", "slack"), _opened("R2", "web"), _opened("R3", "api"),
              _opened("R4", "api")]  # fmt: skip
    found = indicators(states, [], reviews, {"R3": "pipeline", "R4": "agent"}, POLICY, NOW)
    assert found.reviews_on_time == 1 / 3
    assert {bar.label: bar.value for bar in found.sources} == {
        "chat": 1, "console": 1, "pipeline": 1, "agent": 1,
    }  # fmt: skip
    assert found.expired_share is None and found.decision_hours == ()


def test_consultation_missed_counts_only_windows_that_closed_on_an_open_request() -> None:
    later = NOW + timedelta(days=10)
    withdrawn = _opened("R1", "slack")
    assert withdrawn.consulted, "the scoring system consults someone"
    withdrawn = withdrawn.model_copy(
        update={"status": Status.CANCELLED, "decided_at": NOW + timedelta(minutes=1)}
    )
    found = indicators([withdrawn], [], [], {}, POLICY, later)
    assert found.consulted_in_time is None  # nobody had the chance to answer: not judged
    waited = _opened("R2", "slack")
    found = indicators([withdrawn, waited], [], [], {}, POLICY, later)
    assert found.consulted_in_time == 0.0  # R2's window closed with nobody answering
