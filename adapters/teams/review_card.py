"""Renders a risk review as an Adaptive Card 1.5 with `Action.Execute`; imports `workflows` only.

The card is what Slack's review form is: the policy's checklist as toggles, a notes field and
one button, carrying only the review id and its revision. Who may complete it is
the engine's question when the button is pressed; `refresh` names those the core says may
complete it (Accountable, and the backup once escalated), so a channel's read-only copy turns
into the form for them, and an old copy is brought up to date when they open it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.teams.cards import MAX_REFRESH_USERS, TEXT_LIMIT
from workflows.policy import Policy
from workflows.review_machine import describe_review, may_complete
from workflows.review_schedule import local_date
from workflows.reviews import ReviewStatus, RiskReview
from workflows.times import readable_time
from workflows.wording import display_name, names

COMPLETE_VERB = "signoff.review.complete"
REVIEW_REFRESH_VERB = "signoff.review.refresh"
REVIEW_VERBS = (COMPLETE_VERB, REVIEW_REFRESH_VERB)
NOTES_INPUT = "notes"
CHECK_PREFIX = "check"
MAX_CHECKLIST = 10  # as many as Slack's form shows
# The reminder's pointer to the slash command: on a card that is itself the form, the
# button is the way to complete it, so the sentence is left off.
_TYPE_COMMAND = re.compile(r"\s*Type /signoff review \S+ to complete it\.\s*$")


def _text(text: str, *, bold: bool = False, subtle: bool = False) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text[:TEXT_LIMIT] or " "}
    if bold:
        run["weight"] = "Bolder"
    if subtle:
        run["isSubtle"] = True
    return {"type": "RichTextBlock", "inlines": [run], "spacing": "Small"}


def shown_notice(notice: str, form: bool) -> str:
    """The scheduler's notice as the card says it: on a card with the form, without the
    pointer to the command the form stands in for."""
    return _TYPE_COMMAND.sub("", notice) if form else notice


def review_data(review: RiskReview) -> dict[str, Any]:
    """What the card's actions send back: the review and the revision seen."""
    return {"v": review.id, "n": review.revision}


def review_card(
    review: RiskReview,
    policy: Policy,
    *,
    form: bool,
    user_mris: Mapping[str, str] | None = None,
    notice: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The review's card; `form` adds the checklist, notes and button while it is due;
    `notice` is what the scheduler said (a reminder, an escalation); `note` is for one viewer."""
    title = describe_review(review, policy)
    body: list[dict[str, Any]] = [_text(title[:1].upper() + title[1:], bold=True)]
    if note:
        body.append(_text(note, bold=True))
    if notice:
        body.append(_text(shown_notice(notice, form)))
    body.extend(_text(line) for line in _facts(review, policy))
    result: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [],
    }
    if review.status is not ReviewStatus.DUE:
        return result
    if form:
        body.extend(_checklist(policy))
        body.append(
            {
                "type": "Input.Text",
                "id": NOTES_INPUT,
                "label": "Notes (required for anything unchecked)",
                "isMultiline": True,
                "maxLength": 2000,
            }
        )
        result["actions"] = [
            {
                "type": "Action.Execute",
                "title": "Complete review",
                "verb": COMPLETE_VERB,
                "data": review_data(review),
            }
        ]
    people = may_complete(review, policy)
    users = [user_mris[p] for p in people if user_mris and p in user_mris]
    if users:
        result["refresh"] = {
            "action": {
                "type": "Action.Execute",
                "verb": REVIEW_REFRESH_VERB,
                "data": review_data(review),
            },
            "userIds": users[:MAX_REFRESH_USERS],
        }
    return result


def _facts(review: RiskReview, policy: Policy) -> list[str]:
    due = local_date(policy, review.due_at).isoformat()
    if review.status is ReviewStatus.COMPLETED:
        when = readable_time(review.completed_at or review.due_at, policy.timezone)
        lines = [f"Completed by {display_name(policy, review.completed_by)} at {when}."]
        if review.checked:
            lines.append(f"Checked: {', '.join(review.checked)}.")
        if review.notes:
            lines.append(f"Notes: {review.notes}")
        return lines
    escalated = " (escalated)" if review.escalated else ""
    who = names(policy, may_complete(review, policy))
    return [f"Due {due}{escalated}. Who may complete it: {who}."]


def _checklist(policy: Policy) -> list[dict[str, Any]]:
    """One toggle per item; a toggled item sends its own text, so a reordered checklist
    cannot make one item count for another."""
    return [
        {
            "type": "Input.Toggle",
            "id": f"{CHECK_PREFIX}{index}",
            "title": item[:150],
            "valueOn": item[:150],
            "valueOff": "",
            "value": "",
            "wrap": True,
        }
        for index, item in enumerate(policy.reviews.checklist[:MAX_CHECKLIST])
    ]


def read_checked(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The checklist items a submitted card had toggled on, in card order."""
    chosen = [
        value.strip()
        for key, value in sorted(data.items())
        if key.startswith(CHECK_PREFIX) and isinstance(value, str) and value.strip()
    ]
    return tuple(chosen)
