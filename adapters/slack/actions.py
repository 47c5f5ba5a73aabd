"""Translates a signed Slack `block_actions` payload into a neutral button press; pure.

The button's `value` is only a pointer. The card's `block_id` (request and revision) and the
message's location are what count, and a payload whose parts disagree is refused (AUTHZ-17).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.shell import REQUEST_ID
from adapters.slack.blocks import ACTION_PREFIX
from workflows.model import Verdict

_BLOCK = re.compile(f"^signoff:({REQUEST_ID}):([0-9]{{1,6}})$")


@dataclass(frozen=True)
class ButtonPress:
    request_id: str
    revision: int
    verdict: Verdict
    user_id: str
    team_id: str | None
    location: dict[str, str]
    delivery_key: str
    trigger_id: str | None

    @property
    def needs_comment(self) -> bool:
        """Reject and Raise concern open a form for the reason first."""
        return self.verdict in (Verdict.REJECT, Verdict.CONCERN)


@dataclass(frozen=True)
class NotOurs:
    """A payload we cannot act on; `ours` says whether it carried our action namespace."""

    ours: bool
    reason: str


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def dig(value: object, *path: str) -> object:
    """`value[path[0]][path[1]]...`, or None as soon as a step is not a mapping."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text_at(value: object, *path: str) -> str:
    """The stripped string at `path`; "" when it is missing or not a string."""
    found = dig(value, *path)
    return found.strip() if isinstance(found, str) else ""


def _mapping(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def read_button_press(payload: dict[str, Any]) -> ButtonPress | NotOurs:
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        return NotOurs(False, "expected exactly one action")
    action = actions[0]
    action_id = _text(action.get("action_id")) or ""
    if not action_id.startswith(ACTION_PREFIX):
        return NotOurs(False, f"action {action_id[:60]!r} is not Signoff's")
    try:
        verdict = Verdict(action_id[len(ACTION_PREFIX) :])
    except ValueError:
        return NotOurs(True, f"unknown Signoff action {action_id[:60]!r}")
    block = _BLOCK.match(_text(action.get("block_id")) or "")
    if block is None:
        return NotOurs(True, "the button is not on a Signoff card")
    request_id, revision = block.group(1), int(block.group(2))
    try:
        pointer = json.loads(_text(action.get("value")) or "")
    except ValueError:
        pointer = None
    if pointer != {"r": request_id, "v": revision}:
        return NotOurs(True, "the button's value disagrees with its card")
    user, container, team = (_mapping(payload, key) for key in ("user", "container", "team"))
    user_id = _text(user.get("id"))
    channel = _text(container.get("channel_id"))
    message_ts = _text(container.get("message_ts"))
    action_ts = _text(action.get("action_ts"))
    if not (user_id and channel and message_ts and action_ts):
        return NotOurs(True, "the payload lacks its user, message or time")
    team_id = _text(user.get("team_id")) or _text(team.get("id"))
    return ButtonPress(
        request_id=request_id,
        revision=revision,
        verdict=verdict,
        user_id=user_id,
        team_id=team_id,
        location={"channel": channel, "ts": message_ts},
        delivery_key=f"{team_id}:{user_id}:{action_ts}:{action_id}",
        trigger_id=_text(payload.get("trigger_id")),
    )
