"""Renders card views and notifications as Slack Block Kit; imports `workflows` only.

User-supplied text goes into `plain_text` objects, or is escaped where Slack parses it, so
nobody can smuggle a mention, a broadcast or a link into a card (CHAT-01..05). Long text is
cut to Slack's limits with a pointer to the audit trail, which keeps the whole of it.
"""

from __future__ import annotations

import json
from typing import Any

from workflows.cards import CardView
from workflows.model import Verdict

ACTION_PREFIX = "signoff."
TRUNCATED = "… (truncated; full text in the audit ledger)"
HEADER_LIMIT = 150
TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
FALLBACK_LIMIT = 3000

_LABELS = {
    Verdict.APPROVE: ("Approve", "primary"),
    Verdict.REJECT: ("Reject", "danger"),
    Verdict.NO_OBJECTION: ("No objection", "primary"),
    Verdict.CONCERN: ("Raise concern", None),
}


def escape(text: str) -> str:
    """Slack's three control characters as entities; nothing else is touched."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def _plain(text: str, limit: int = TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": False}


def _field(label: str, value: str) -> dict[str, Any]:
    return _plain(f"{label}: {value}", FIELD_LIMIT)


def button_value(card: CardView) -> str:
    """Only opaque ids go in a button (CHAT-09): the request and the card's revision."""
    return json.dumps({"r": card.request_id, "v": card.revision}, separators=(",", ":"))


def card_blocks(card: CardView) -> list[dict[str, Any]]:
    fields = [
        _field("System", f"{card.system_name} ({card.system})"),
        _field("Risk tier", card.tier),
        _field("Version", card.version),
        _field("Environment", card.environment or "not given"),
        _field("Requested by", card.requester),
        _field("Status", card.status_text),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(card.title, HEADER_LIMIT)},
        {"type": "section", "fields": fields},
    ]
    if card.reason:
        blocks.append({"type": "section", "text": _plain(f"Why: {card.reason}")})
    if card.details:
        lines = "\n".join(f"{label}: {value}" for label, value in card.details)
        blocks.append({"type": "section", "text": _plain(lines)})
    if card.preview:
        shown = f"Arguments (secrets masked):\n{card.preview}"
        blocks.append({"type": "section", "text": _plain(shown)})
    if card.raci:
        raci = "\n".join(f"{letter}: {who}" for letter, who in card.raci)
        blocks.append({"type": "section", "text": _plain(raci)})
    if card.consultation:
        lines = "\n".join(f"{name}: {answer}" for name, answer in card.consultation)
        blocks.append({"type": "section", "text": _plain(f"Consulted\n{lines}")})
    if card.notice:
        blocks.append({"type": "context", "elements": [_plain(card.notice)]})
    if card.buttons:
        blocks.append(
            {
                "type": "actions",
                # A new block_id per revision, as Slack asks, doubles as the card's version.
                "block_id": f"signoff:{card.request_id}:{card.revision}",
                "elements": [_button(card, verdict) for verdict in card.buttons],
            }
        )
    return blocks


def _button(card: CardView, verdict: Verdict) -> dict[str, Any]:
    label, style = _LABELS[verdict]
    button: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_PREFIX + verdict.value,
        "text": _plain(label, 75),
        "value": button_value(card),
    }
    if style is not None:
        button["style"] = style
    return button


def message_payload(text: str, card: CardView | None) -> dict[str, Any]:
    """Arguments for `chat.postMessage` or `chat.update`; never `link_names` or `parse`."""
    payload: dict[str, Any] = {"text": clip(escape(text), FALLBACK_LIMIT), "unfurl_links": False}
    if card is not None:
        payload["blocks"] = card_blocks(card)
    return payload
