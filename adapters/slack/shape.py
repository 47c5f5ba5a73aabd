"""Sorts a signed Slack request before bolt sees it: ours, nothing of ours, or malformed; pure.

Imports only names of our other Slack modules. A valid signature proves
who sent the bytes, not that they have the shape bolt's parsing assumes; bolt reads fields such
as `user.id` and `actions[0].action_id` without checking their types, so a signed body of the
wrong shape would otherwise be a 500. Only what Signoff listens to is handed on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from adapters.slack.blocks import ACTION_PREFIX
from adapters.slack.forms import DEPLOY_FORM, REASON_FORM
from adapters.slack.review_form import REVIEW_FORM

COMMAND = "/signoff"
OUR_FORMS = frozenset({DEPLOY_FORM, REASON_FORM, REVIEW_FORM})

# Fields bolt reads from any payload, with the one shape each may have when present.
_MAPPINGS = (
    "user",
    "team",
    "enterprise",
    "channel",
    "container",
    "view",
    "message",
    "previous_message",
    "event",
    "item",
    "assistant_thread",
    "state",
)
_SCALARS = (
    "type",
    "team_id",
    "user_id",
    "channel_id",
    "enterprise_id",
    "trigger_id",
    "api_app_id",
    "token",
    "response_url",
    "thread_ts",
    "function_execution_id",
    "callback_id",
    "is_enterprise_install",
    "is_ext_shared_channel",
)
_NESTED_SCALARS = {
    "user": ("id", "team_id", "name", "username"),
    "team": ("id", "enterprise_id", "domain"),
    "enterprise": ("id", "name"),
    "channel": ("id", "name"),
    "container": ("type", "channel_id", "message_ts", "view_id"),
    "view": ("id", "callback_id", "team_id", "private_metadata", "app_installed_team_id", "hash"),
}
_ACTION_SCALARS = ("action_id", "block_id", "value", "action_ts", "type")


class Triage(StrEnum):
    OURS = "ours"
    NOT_OURS = "not-ours"
    MALFORMED = "malformed"


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, str | bool | int)


def _well_formed(payload: dict[str, Any]) -> bool:
    if not all(_scalar(payload.get(key)) for key in _SCALARS):
        return False
    if not all(payload.get(key) is None or isinstance(payload[key], dict) for key in _MAPPINGS):
        return False
    for key, fields in _NESTED_SCALARS.items():
        inner = payload.get(key) or {}
        if not all(_scalar(inner.get(field)) for field in fields):
            return False
    view = payload.get("view") or {}
    if not (view.get("state") is None or isinstance(view["state"], dict)):
        return False
    values = (view.get("state") or {}).get("values")
    if not (values is None or isinstance(values, dict)):
        return False
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return False
    actions = payload.get("actions")
    if actions is None:
        return True
    return isinstance(actions, list) and all(
        isinstance(a, dict) and all(_scalar(a.get(field)) for field in _ACTION_SCALARS)
        for a in actions
    )


def triage(form: dict[str, str], payload: dict[str, Any] | None) -> Triage:
    """Whether bolt should see this request, it should be acknowledged and dropped, or refused."""
    if payload is None:
        return Triage.OURS if form.get("command") == COMMAND else Triage.NOT_OURS
    kind = payload.get("type")
    if kind not in ("block_actions", "view_submission"):
        return Triage.NOT_OURS if _scalar(kind) else Triage.MALFORMED
    if not _well_formed(payload):
        return Triage.MALFORMED
    if kind == "block_actions":
        actions = payload.get("actions")
        if not actions:
            return Triage.MALFORMED
        action_id = actions[0].get("action_id")
        ours = isinstance(action_id, str) and action_id.startswith(ACTION_PREFIX)
        return Triage.OURS if ours else Triage.NOT_OURS
    view = payload.get("view")
    if view is None:
        return Triage.MALFORMED
    return Triage.OURS if view.get("callback_id") in OUR_FORMS else Triage.NOT_OURS
