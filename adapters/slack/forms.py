"""The Slack modals Signoff opens: the request form and the reason form; never imports `bot`."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from adapters.slack.actions import ButtonPress, text_at
from workflows.model import Verdict
from workflows.policy import Policy
from workflows.wording import activity_title

# The request form's callback id; it predates named activities, and a form opened before an
# upgrade must still be taken when it is submitted after it.
DEPLOY_FORM = "signoff.deploy"
REASON_FORM = "signoff.reason"
# Picking a system in the request form: the form is redrawn with that system's activities.
SYSTEM_PICKED = "signoff.form.system"
_MAX_OPTIONS = 100


def picked(values: object, block: str) -> str:
    """What the block `block` (or `block.<anything>`) holds, whatever its element's action id."""
    if not isinstance(values, dict):
        return ""
    for block_id, actions in values.items():
        if not (block_id == block or str(block_id).startswith(block + ".")):
            continue
        if isinstance(actions, dict):
            for element in actions.values():
                found = text_at(element, "selected_option", "value") or text_at(element, "value")
                if found:
                    return found
    return ""


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _activities(policy: Policy, system: str | None) -> list[str]:
    """The chosen system's activities, or every activity of the inventory before one is chosen."""
    if system in policy.systems:
        return list(policy.systems[system].approval_activities)
    seen: dict[str, None] = {}
    for entry in policy.systems.values():
        seen.update(dict.fromkeys(entry.approval_activities))
    return sorted(seen, key=lambda a: a != "deploy")


def request_form(
    policy: Policy,
    activity: str | None,
    system: str | None,
    version: str | None = None,
    environment: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """The form `/signoff request` (or `deploy`) opens when arguments are missing.

    The system picker redraws the form when a system is chosen, so the activity picker offers
    that system's activities only.
    """
    systems = [_option(f"{s.name} ({sid})", sid) for sid, s in sorted(policy.systems.items())]
    system_picker: dict[str, Any] = {
        "type": "static_select",
        "action_id": SYSTEM_PICKED,
        "options": systems[:_MAX_OPTIONS],
    }
    if chosen := next((o for o in systems if o["value"] == system), None):
        system_picker["initial_option"] = chosen
    activities = [_option(f"{activity_title(a)} ({a})", a) for a in _activities(policy, system)]
    activity_picker: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": activities[:_MAX_OPTIONS] or [_option("none", "none")],
    }
    if initial := next((o for o in activities if o["value"] == activity), None):
        activity_picker["initial_option"] = initial
    return {
        "type": "modal",
        "callback_id": DEPLOY_FORM,
        "title": {"type": "plain_text", "text": "Ask for approval"},
        "submit": {"type": "plain_text", "text": "Ask for approval"},
        "blocks": [
            {
                "type": "input",
                "block_id": "system",
                "dispatch_action": True,
                "label": {"type": "plain_text", "text": "AI system"},
                "element": system_picker,
            },
            {
                "type": "input",
                # A new block per system, so Slack drops a choice the new list does not hold.
                "block_id": f"activity.{system or 'any'}",
                "label": {"type": "plain_text", "text": "What to approve"},
                "element": activity_picker,
            },
            _text_input("version", "Version (needed to deploy)", version),
            _text_input("environment", "Environment (optional)", environment),
            _text_input("reason", "Why (optional)", reason),
        ],
    }


def _text_input(block: str, label: str, value: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if value:
        element["initial_value"] = value
    if block == "reason":
        element["multiline"] = True
    return {
        "type": "input",
        "block_id": block,
        "optional": True,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def request_text(values: object) -> str:
    """The command a submitted request form stands for; a form without an activity picker is
    the deploy form of the version before."""
    activity = picked(values, "activity") or "deploy"
    text = f"request {activity} {picked(values, 'system')} {picked(values, 'version')}"
    if environment := picked(values, "environment"):
        text += f" to {environment}"
    if reason := picked(values, "reason"):
        text += f" -- {reason}"
    return text


def reason_form(press: ButtonPress) -> dict[str, Any]:
    title = "Reject" if press.verdict is Verdict.REJECT else "Raise a concern"
    return {
        "type": "modal",
        "callback_id": REASON_FORM,
        "private_metadata": json.dumps(press.__dict__ | {"verdict": press.verdict.value}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": title},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            }
        ],
    }


def press_from_form(metadata: str) -> ButtonPress | None:
    """The press a reason form was opened for; None unless every field has its shape.

    The form only carries which card was pressed; who may decide is checked again on submit.
    """
    try:
        fields = json.loads(metadata)
        verdict = Verdict(fields["verdict"])
    except (ValueError, TypeError, KeyError):
        return None
    texts = ("request_id", "user_id", "delivery_key")
    optional = ("team_id", "trigger_id")
    location = fields.get("location")
    if not (
        set(fields) == {f.name for f in dataclasses.fields(ButtonPress)}
        and all(isinstance(fields[k], str) and fields[k] for k in texts)
        and all(fields[k] is None or isinstance(fields[k], str) for k in optional)
        and type(fields["revision"]) is int
        and isinstance(location, dict)
        and all(isinstance(v, str) for v in location.values())
        and {"channel", "ts"} <= set(location)
    ):
        return None
    return ButtonPress(**(fields | {"verdict": verdict}))
