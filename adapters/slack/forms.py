"""The Slack modals Signoff opens: the deploy form and the reason form; never imports `bot`."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from adapters.slack.actions import ButtonPress, text_at
from workflows.model import Verdict
from workflows.policy import Policy

DEPLOY_FORM = "signoff.deploy"
REASON_FORM = "signoff.reason"


def form_value(values: object, block: str) -> str:
    """What a form's block holds: the chosen option or the typed text."""
    return text_at(values, block, "value", "selected_option", "value") or text_at(
        values, block, "value", "value"
    )


def deploy_form(policy: Policy, system: str | None, version: str | None) -> dict[str, Any]:
    """The form `/signoff deploy` opens when arguments are missing: systems from the inventory."""
    options = [
        {"text": {"type": "plain_text", "text": f"{s.name} ({sid})"[:75]}, "value": sid}
        for sid, s in sorted(policy.systems.items())
    ][:100]
    picker: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    initial = next((o for o in options if o["value"] == system), None)
    if initial is not None:
        picker["initial_option"] = initial

    def text_input(block: str, label: str, optional: bool, value: str | None = None) -> Any:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
        if value:
            element["initial_value"] = value
        if block == "reason":
            element["multiline"] = True
        return {
            "type": "input",
            "block_id": block,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }

    return {
        "type": "modal",
        "callback_id": DEPLOY_FORM,
        "title": {"type": "plain_text", "text": "Ask to deploy"},
        "submit": {"type": "plain_text", "text": "Ask for approval"},
        "blocks": [
            {
                "type": "input",
                "block_id": "system",
                "label": {"type": "plain_text", "text": "AI system"},
                "element": picker,
            },
            text_input("version", "Version", False, version),
            text_input("environment", "Environment (optional)", True),
            text_input("reason", "Why (optional)", True),
        ],
    }


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
