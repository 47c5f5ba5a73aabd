"""`reviews` as each person reads it: their own to complete first, then the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.policies import build_policy, with_reviews
from workflows.review_machine import reviews_text_for
from workflows.reviews import RiskReview
from workflows.wording import sentence

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _two_systems(raw: dict[str, Any]) -> None:
    support = raw["systems"]["support-bot"]
    with_reviews(raw)
    raw["systems"]["support-bot"] = support
    support["raci"]["risk-review"] = {"responsible": ["ml-engineer"], "accountable": "board"}


POLICY = build_policy(_two_systems)


def review(system: str, due_in_days: int, escalated: bool = False) -> RiskReview:
    due = NOW + timedelta(days=due_in_days)
    return RiskReview(
        id=f"r-{system}", system=system, scheduled_at=due, due_at=due, escalated=escalated
    )


REVIEWS = [review("credit-scoring", -2), review("support-bot", 3)]


def test_the_accountable_sees_their_own_first_under_its_heading() -> None:
    assert reviews_text_for(REVIEWS, POLICY, NOW, "ines") == (
        "Yours to complete:\nsupport-bot: due 2026-12-04 (in 3 days)\n"
        "Other risk reviews:\ncredit-scoring: overdue since 2026-11-29"
    )


def test_someone_with_none_to_complete_sees_the_plain_list() -> None:
    plain = (
        "Risk reviews:\ncredit-scoring: overdue since 2026-11-29\n"
        "support-bot: due 2026-12-04 (in 3 days)"
    )
    assert reviews_text_for(REVIEWS, POLICY, NOW, "soo") == plain
    assert reviews_text_for(REVIEWS, POLICY, NOW, None) == plain


def test_the_backup_is_shown_a_review_once_it_is_escalated_to_them() -> None:
    assert reviews_text_for(REVIEWS, POLICY, NOW, "cdao").startswith("Risk reviews:")
    escalated = [review("credit-scoring", -2, escalated=True), REVIEWS[1]]
    assert reviews_text_for(escalated, POLICY, NOW, "cdao") == (
        "Yours to complete:\ncredit-scoring: overdue since 2026-11-29, escalated\n"
        "Other risk reviews:\nsupport-bot: due 2026-12-04 (in 3 days)"
    )


def test_a_system_name_keeps_its_capitals_in_sentences() -> None:
    assert sentence("the risk review of CSM (csm)") == "The risk review of CSM (csm)"
    assert sentence("") == ""
