"""The Slack modals Signoff opens: the deploy form and the reason form; never imports `bot`."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.actions import ButtonPress
from workflows.model import Verdict
from workflows.policy import Policy

DEPLOY_FORM = "signoff.deploy"
REASON_FORM = "signoff.reason"


def form_value(values: dict[str, Any], block: str) -> str:
    field = (values.get(block) or {}).get("value") or {}
    chosen = field.get("selected_option") or {}
    return str(chosen.get("value") or field.get("value") or "").strip()


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
    # The form only carries which card was pressed; who may decide is checked again on submit.
    try:
        fields = json.loads(metadata)
        fields["verdict"] = Verdict(fields["verdict"])
        return ButtonPress(**fields)
    except (ValueError, TypeError, KeyError):
        return None
