"""Renders card views as Adaptive Cards 1.5 with `Action.Execute`; imports `workflows` only.

Every piece of text is a `TextRun` in a `RichTextBlock`, which Teams does not read as
Markdown, so a reason or a comment cannot smuggle a link or a mention into a card. Buttons
carry only the request id and the card's revision. `refresh` names the people who may answer
by their user MRIs (at most 60, as Teams allows), so they see their buttons on a copy posted
to a channel while everyone else sees it read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.cards import CardView
from workflows.model import Verdict

VERB_PREFIX = "signoff."
REFRESH_VERB = "signoff.refresh"
COMMENT_INPUT = "comment"
MAX_REFRESH_USERS = 60
TEXT_LIMIT = 2000

_LABELS = {
    Verdict.APPROVE: "Approve",
    Verdict.REJECT: "Reject",
    Verdict.NO_OBJECTION: "No objection",
    Verdict.CONCERN: "Raise concern",
}
_ASKS_WHY = {Verdict.REJECT: "Why do you reject it?", Verdict.CONCERN: "What is your concern?"}


def _text(text: str, *, bold: bool = False, subtle: bool = False) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text[:TEXT_LIMIT] or " "}
    if bold:
        run["weight"] = "Bolder"
    if subtle:
        run["isSubtle"] = True
    return {"type": "RichTextBlock", "inlines": [run], "spacing": "Small"}


def card_data(card: CardView) -> dict[str, Any]:
    """What an action sends back: the request and the revision the person saw."""
    return {"r": card.request_id, "v": card.revision}


def adaptive_card(
    card: CardView, user_mris: Mapping[str, str] | None = None, note: str | None = None
) -> dict[str, Any]:
    """The card; `user_mris` maps people to their MRIs for `refresh`; `note` is for one viewer."""
    body: list[dict[str, Any]] = [_text(card.title, bold=True)]
    if note:
        body.append(_text(note, bold=True))
    facts = [
        ("System", f"{card.system_name} ({card.system})"),
        ("Risk tier", card.tier),
        ("Version", card.version),
        ("Environment", card.environment or "not given"),
        ("Requested by", card.requester),
        ("Status", card.status_text),
    ]
    body.extend(_text(f"{label}: {value}") for label, value in facts)
    if card.reason:
        body.append(_text(f"Why: {card.reason}"))
    body.extend(_text(f"{label}: {value}") for label, value in card.details)
    if card.preview:
        body.append(_text("Arguments (secrets masked)", bold=True))
        body.append(_text(card.preview))
    body.extend(_text(f"{letter}: {who}", subtle=True) for letter, who in card.raci)
    if card.consultation:
        body.append(_text("Consulted", bold=True))
        body.extend(_text(f"{name}: {answer}") for name, answer in card.consultation)
    if card.notice:
        body.append(_text(card.notice, subtle=True))
    result: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [_action(card, verdict) for verdict in card.buttons],
    }
    users = [user_mris[p] for p in card.answerers if user_mris and p in user_mris]
    if users:
        result["refresh"] = {
            "action": {"type": "Action.Execute", "verb": REFRESH_VERB, "data": card_data(card)},
            "userIds": users[:MAX_REFRESH_USERS],
        }
    return result


def _action(card: CardView, verdict: Verdict) -> dict[str, Any]:
    execute = {
        "type": "Action.Execute",
        "title": _LABELS[verdict],
        "verb": VERB_PREFIX + verdict.value,
        "data": card_data(card),
    }
    if verdict not in _ASKS_WHY:
        return execute
    # The reason is asked on the card itself; Teams will not send the action without it.
    question = {
        "type": "Input.Text",
        "id": COMMENT_INPUT,
        "label": _ASKS_WHY[verdict],
        "isMultiline": True,
        "isRequired": True,
        "errorMessage": "Please say why.",
        "maxLength": 2000,
    }
    return {
        "type": "Action.ShowCard",
        "title": _LABELS[verdict],
        "card": {
            "type": "AdaptiveCard",
            "body": [question],
            "actions": [{**execute, "title": f"Send: {_LABELS[verdict]}"}],
        },
    }


def attachment(content: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": "application/vnd.microsoft.card.adaptive", "content": content}
