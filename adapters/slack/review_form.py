"""The Slack modal of a risk review: its checklist and notes, and reading a submission back.

Imports our Slack helpers and `workflows`; never `bot`. Who may complete the review is the
engine's question at submission; the form is shown to whoever asks for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.slack.actions import dig, text_at
from workflows.policy import Policy
from workflows.review_machine import describe_review, may_complete
from workflows.review_schedule import local_date
from workflows.reviews import RiskReview
from workflows.wording import names, sentence

REVIEW_FORM = "signoff.review"


@dataclass(frozen=True)
class ReviewSubmission:
    review_id: str
    revision: int
    checked: tuple[str, ...]
    notes: str | None


def review_form(review: RiskReview, policy: Policy) -> dict[str, Any]:
    due = local_date(policy, review.due_at).isoformat()
    who = names(policy, may_complete(review, policy))
    options = [
        {"text": {"type": "plain_text", "text": item[:75]}, "value": item[:150]}
        for item in policy.reviews.checklist
    ][:10]
    return {
        "type": "modal",
        "callback_id": REVIEW_FORM,
        "private_metadata": json.dumps({"v": review.id, "n": review.revision}),
        "title": {"type": "plain_text", "text": "Risk review"},
        "submit": {"type": "plain_text", "text": "Complete review"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": f"{sentence(describe_review(review, policy))}, due {due}. "
                    f"Completed by {who}.",
                },
            },
            {
                "type": "input",
                "block_id": "checklist",
                "optional": True,
                "label": {"type": "plain_text", "text": "Checked"},
                "element": {"type": "checkboxes", "action_id": "value", "options": options},
            },
            {
                "type": "input",
                "block_id": "notes",
                "optional": True,
                "label": {"type": "plain_text", "text": "Notes (required for anything unchecked)"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True},
            },
        ],
    }


def read_review_form(view: object) -> ReviewSubmission | None:
    """The submitted review, or None when the form is not one Signoff opened."""
    try:
        meta = json.loads(text_at(view, "private_metadata"))
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    review_id, revision = meta.get("v"), meta.get("n")
    if not isinstance(review_id, str) or type(revision) is not int:
        return None
    chosen = dig(view, "state", "values", "checklist", "value", "selected_options")
    checked = tuple(
        text_at(option, "value") for option in (chosen if isinstance(chosen, list) else [])
    )
    notes = text_at(view, "state", "values", "notes", "value", "value") or None
    return ReviewSubmission(review_id, revision, tuple(c for c in checked if c), notes)
