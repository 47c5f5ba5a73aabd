"""Teams' request form: the Adaptive Card `deploy` or `request` with arguments missing answers
with, as Slack opens its modal, and reading it back when it is sent.

Imports `workflows` and our Teams modules; never `bot`. It translates and shows: the filled-in
form becomes the command a person would have typed, which goes through the grammar and then
the engine, which decides whether the person may ask, and for what.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.inbound import ChatShell
from adapters.shell import answer_text_command
from adapters.teams.cards import TEXT_LIMIT
from workflows.grammar import GrammarError, RequestApproval, parse
from workflows.model import Actor
from workflows.policy import Policy
from workflows.wording import activity_title

ASK_VERB = "signoff.request.open"
_MAX_CHOICES = 100
_FIELDS = ("system", "activity", "version", "environment", "reason")


def _text(text: str, *, bold: bool = False) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text[:TEXT_LIMIT] or " "}
    if bold:
        run["weight"] = "Bolder"
    return {"type": "RichTextBlock", "inlines": [run], "spacing": "Small"}


def _activities(policy: Policy, system: str | None) -> list[str]:
    """The chosen system's activities, or every activity of the inventory (deploy first)."""
    if system in policy.systems:
        return list(policy.systems[system].approval_activities)
    seen: dict[str, None] = {}
    for entry in policy.systems.values():
        seen.update(dict.fromkeys(entry.approval_activities))
    return sorted(seen, key=lambda a: a != "deploy")


def _choices(
    input_id: str, label: str, choices: list[tuple[str, str]], value: str | None
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "style": "compact",
        "isRequired": True,
        "errorMessage": f"Please choose the {label.lower()}.",
        "choices": [{"title": t[:75], "value": v} for t, v in choices[:_MAX_CHOICES]],
    }
    if value in {v for _, v in choices}:
        field["value"] = value
    return field


def _input(input_id: str, label: str, value: str | None, multiline: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "Input.Text", "id": input_id, "label": label}
    if value:
        field["value"] = value[:TEXT_LIMIT]
    if multiline:
        field["isMultiline"] = True
        field["maxLength"] = 2000
    return field


def request_form_card(
    policy: Policy, filled: Mapping[str, str | None], note: str | None = None
) -> dict[str, Any]:
    """The form, filled with what the command (or the form sent before) already said. Teams
    does not redraw a card as a choice changes, so the activities are the chosen system's when
    a system was given, else every activity of the inventory."""
    systems = [(f"{s.name} ({sid})", sid) for sid, s in sorted(policy.systems.items())]
    system = filled.get("system")
    activities = [(f"{activity_title(a)} ({a})", a) for a in _activities(policy, system)]
    body: list[dict[str, Any]] = [_text("Ask for approval", bold=True)]
    if note:
        body.append(_text(note, bold=True))
    body += [
        _choices("system", "AI system", systems, system),
        _choices("activity", "What to approve", activities, filled.get("activity")),
        _input("version", "Version (needed to deploy)", filled.get("version")),
        _input("environment", "Environment (optional)", filled.get("environment")),
        _input("reason", "Why (optional)", filled.get("reason"), multiline=True),
    ]
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "actions": [
            {"type": "Action.Execute", "title": "Ask for approval", "verb": ASK_VERB, "data": {}}
        ],
    }


def filled_from(parsed: RequestApproval) -> dict[str, str | None]:
    return {
        "system": parsed.system,
        "activity": parsed.activity,
        "version": parsed.version,
        "environment": parsed.environment,
        "reason": parsed.reason,
    }


def read_form(data: Mapping[str, Any]) -> dict[str, str | None]:
    """What the sent form held, each field a stripped string or None."""
    found = {name: data.get(name) for name in _FIELDS}
    return {k: v.strip() or None if isinstance(v, str) else None for k, v in found.items()}


def request_text(filled: Mapping[str, str | None]) -> str:
    """The command the form stands for, as a person would type it."""
    text = f"request {filled['activity'] or ''} {filled['system'] or ''} {filled['version'] or ''}"
    if filled["environment"]:
        text += f" to {filled['environment']}"
    if filled["reason"]:
        text += f" -- {filled['reason']}"
    return text


async def send_form(
    shell: ChatShell, actor: Actor, data: Mapping[str, Any], delivery: tuple[str, str] | None
) -> dict[str, Any]:
    """The card the sender sees after sending the form: what the engine said, or the form
    again with what is missing."""
    filled = read_form(data)
    policy = shell.policy()
    if not (filled["system"] and filled["activity"]):
        return request_form_card(policy, filled, "Please choose the AI system and what to approve.")
    try:
        parsed = parse(request_text(filled))
    except GrammarError as error:
        return request_form_card(policy, filled, error.message)
    if not (isinstance(parsed, RequestApproval) and parsed.complete):
        return request_form_card(policy, filled, "A deployment needs a version.")
    reply = await answer_text_command(shell, actor, parsed, delivery)
    said = reply or "This form was already sent."
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [_text("Ask for approval", bold=True), _text(said)],
        "actions": [],
    }
