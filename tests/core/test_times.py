"""Times people read: the policy's zone, to the minute, with the zone; the ledger keeps UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.harness import T0, actor, build_policy
from workflows.cards import card_view
from workflows.commands import Answer, OpenRequest
from workflows.effects import Audience
from workflows.incident_machine import incident_step
from workflows.incidents import EndIncident, OpenRoom, StartIncident
from workflows.machine import step
from workflows.model import ApprovalRequest, Verdict
from workflows.policy import Policy
from workflows.review_machine import review_step
from workflows.reviews import CompleteReview, ReviewStatus, schedule_review
from workflows.times import readable_time
from workflows.waiting import waiting_on
from workflows.wording import outcome_text

# What a person must never be shown: RFC 3339 with its `T`, seconds or a fraction of one.
MACHINE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d|\.\d{6}Z?")
# Seconds and microseconds on every moment, so a formatter that keeps them shows them.
OPENED = T0 + timedelta(seconds=42, microseconds=123456)


def _berlin(raw: dict[str, Any]) -> None:
    raw["timezone"] = "Europe/Berlin"


BERLIN = build_policy(_berlin)


def test_readable_time_is_the_zone_s_wall_clock_to_the_minute_with_its_abbreviation() -> None:
    winter = datetime(2026, 12, 1, 13, 30, 59, 999999, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert readable_time(winter, "Europe/Berlin") == "2026-12-01 14:30 CET"
    assert readable_time(summer, "Europe/Berlin") == "2026-07-01 14:00 CEST"
    assert readable_time(winter) == "2026-12-01 13:30 UTC"
    assert readable_time(winter.replace(tzinfo=None)) == "2026-12-01 13:30 UTC"


def test_a_zone_whose_abbreviation_is_only_an_offset_is_shown_by_its_name() -> None:
    moment = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert readable_time(moment, "Asia/Dubai") == "2026-12-01 17:30 Asia/Dubai"


def test_a_deadline_is_never_shown_later_than_it_falls() -> None:
    moment = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert readable_time(moment) == "2026-12-31 23:59 UTC"


def _open(system: str, policy: Policy = BERLIN) -> ApprovalRequest:
    command = OpenRequest(request_id="R1", actor=actor("soo"), system=system, version="2.3.1")
    opened = step(None, command, policy, OPENED, "d" * 64)
    assert opened.state is not None
    return opened.state


def _answer(state: ApprovalRequest, person: str, verdict: Verdict, at: datetime) -> Any:
    command = Answer(request_id=state.id, actor=actor(person), verdict=verdict, comment="ok")
    return step(state, command, BERLIN, at, "d" * 64)


def _people_texts() -> dict[str, str]:
    """Every text a person reads that carries a moment, from a policy in Europe/Berlin."""
    texts: dict[str, str] = {}
    pending = _open("support-bot")
    texts["card notice"] = card_view(pending, BERLIN, Audience.APPROVER).notice or ""
    texts["waiting"] = waiting_on("mina", [pending], BERLIN)
    first = _answer(pending, "mina", Verdict.APPROVE, OPENED + timedelta(minutes=5))
    decided = _answer(first.state, "jae", Verdict.APPROVE, OPENED + timedelta(minutes=7))
    texts["outcome"] = outcome_text(decided.state, BERLIN)
    texts["decided card"] = card_view(decided.state, BERLIN, Audience.INFORMED).status_text

    consulting = _open("credit-scoring")
    texts["consultation notice"] = card_view(consulting, BERLIN, Audience.APPROVER).notice or ""
    early = _answer(consulting, "mina", Verdict.APPROVE, OPENED + timedelta(minutes=1))
    texts["consultation refusal"] = early.outcome.message

    start = StartIncident(
        incident_id="INC1",
        number=1,
        actor=actor("soo"),
        system="credit-scoring",
        severity="sev2",
        summary="scores drifting",
    )
    opened = incident_step(None, start, BERLIN, OPENED)
    rooms = [e for e in opened.effects if isinstance(e, OpenRoom)]
    texts["incident room"] = "\n".join(room.first_message for room in rooms)
    end = EndIncident(incident_id="INC1", actor=actor("soo"), summary="rolled back")
    closed = incident_step(opened.state, end, BERLIN, OPENED + timedelta(hours=2))
    texts["incident closed"] = closed.outcome.message
    again = incident_step(closed.state, end, BERLIN, OPENED + timedelta(hours=3))
    texts["incident closed before"] = again.outcome.message

    review, _ = schedule_review("V1", "credit-scoring", BERLIN, OPENED, OPENED)
    done = review.model_copy(
        update={"status": ReviewStatus.COMPLETED, "completed_at": OPENED, "completed_by": "mina"}
    )
    late = CompleteReview(review_id="V1", actor=actor("mina"), next_review_id="V2")
    texts["review completed before"] = review_step(done, late, BERLIN, OPENED).outcome.message
    return texts


EXPECTED = {
    "card notice": "Expires at 2026-11-09 10:00 CET",
    "waiting": "expires 2026-11-09 10:00 CET",
    "outcome": "at 2026-11-02 10:07 CET",
    "decided card": "at 2026-11-02 10:07 CET",
    "consultation notice": "or at 2026-11-02 14:00 CET.",
    "consultation refusal": "until 2026-11-02 14:00 CET.",
    "incident room": "Reported by Soo Han at 2026-11-02 10:00 CET",
    "incident closed": "is due by 2026-11-09 12:00 CET.",
    "incident closed before": "closed at 2026-11-02 12:00 CET",
    "review completed before": "at 2026-11-02 10:00 CET",
}


@pytest.mark.parametrize("where", EXPECTED)
def test_item_14_cards_and_messages_show_times_in_the_policy_zone_to_the_minute(
    where: str,
) -> None:
    text = _people_texts()[where]
    assert EXPECTED[where] in text
    assert MACHINE_TIME.search(text) is None, text


def test_item_14_the_ledger_keeps_utc_with_microseconds() -> None:
    command = OpenRequest(request_id="R1", actor=actor("soo"), system="support-bot", version="1")
    opened = step(None, command, BERLIN, OPENED, "d" * 64)
    assert opened.audit[0].data["expires_at"] == "2026-11-09T09:00:42.123456Z"
