"""Slack markup typed by people never reaches Slack as markup, in any field Signoff sends.

One scenario runs every path where a person's words travel (a request's reason, a concern,
a rejection, a cancellation, an incident's summary and its close, a risk review's notes)
with text full of Slack's control sequences. Then every text field of every Web API call
the stand-in recorded is walked: message text, blocks, channel topic and purpose, modals,
and the answers to the slash commands themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from tests.slack_standin import Call
from tests.slack_world import SlackWorld

HOSTILE = "<!channel> <!here> <@U0CEO> <#C0SECRET> <https://evil.example|Approve here> & co"
# Text objects of this type are shown literally by Slack; markup in them is inert.
LITERAL = "plain_text"


def as_json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def parsed_texts(node: object, where: str) -> Iterator[tuple[str, str]]:
    """Every string in blocks or a view that Slack would parse for markup, with its path."""
    if isinstance(node, dict):
        if node.get("type") == LITERAL:
            return
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield f"{where}.text", value
            else:
                yield from parsed_texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from parsed_texts(value, f"{where}[{index}]")


def literal_texts(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == LITERAL and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from literal_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from literal_texts(value)


def links(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("url"), str):
            yield node["url"]
        for value in node.values():
            yield from links(value)
    elif isinstance(node, list):
        for value in node:
            yield from links(value)


def outgoing(call: Call) -> Iterator[tuple[str, str]]:
    """(field, text) for each text field of one Web API call that Slack parses."""
    for key in ("text", "topic", "purpose"):
        if isinstance(call.args.get(key), str):
            yield f"{call.method}.{key}", call.args[key]
    for key in ("blocks", "view"):
        if key in call.args:
            yield from parsed_texts(as_json(call.args[key]), f"{call.method}.{key}")


def submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> bytes:
    payload = {
        "type": "view_submission",
        "user": {"id": user, "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "view": {
            "type": "modal",
            "id": f"V0{user}",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def answer_with_reason(world: SlackWorld, user: str, dm: str, action: str) -> None:
    assert await world.click(user, world.card_for(dm), action) == 200
    form = as_json(world.standin.called("views.open")[-1].args["view"])
    assert isinstance(form, dict)
    values = {"reason": {"text": {"type": "plain_text_input", "value": HOSTILE}}}
    assert (await world.post(submission(user, form, values))).status == 200


async def test_markup_typed_anywhere_reaches_slack_only_as_text(world: SlackWorld) -> None:
    h, answers = world.h, []

    async def say(user: str, text: str) -> str:
        answers.append(answer := await world.command(user, text))
        return answer

    opened = await say("U0SOO", f"deploy credit-scoring 2.3.1 to prod -- {HOSTILE}")
    assert "is open" in opened
    await h.settle()
    await answer_with_reason(world, "U0DAN", "D0DAN", "concern")
    await answer_with_reason(world, "U0JAE", "D0JAE", "reject")
    await h.settle()

    second = (await say("U0SOO", f"deploy doc-search 1.0 -- {HOSTILE}")).split()[1]
    await say("U0SOO", f"cancel {second} -- {HOSTILE}")
    await say("U0SOO", f"incident credit-scoring sev2 {HOSTILE}")
    await h.settle()
    incident = next(e.subject_id for e in await h.ledger() if e.action == "incident-opened")
    await say("U0MINA", f"incident close {incident} -- {HOSTILE}")
    await h.settle()

    assert await say("U0MINA", "review credit-scoring") == ""
    form = as_json(world.standin.called("views.open")[-1].args["view"])
    assert isinstance(form, dict)
    options = form["blocks"][1]["element"]["options"]
    values = {
        "checklist": {"value": {"type": "checkboxes", "selected_options": options}},
        "notes": {"value": {"type": "plain_text_input", "value": HOSTILE}},
    }
    assert (await world.post(submission("U0MINA", form, values))).status == 200
    await say("U0SOO", "deploy")
    await h.settle()

    fields = [f for call in world.standin.calls for f in outgoing(call)]
    fields += [("slash command answer", answer) for answer in answers]
    # The only markup Signoff writes itself: a link to the incident room it made.
    ours = re.compile("|".join(f"<#{c}>" for c in world.standin.channels_by_name.values()))
    for where, text in fields:
        assert not re.search("[<>]", ours.sub("", text)), f"{where} holds markup: {text!r}"
    # Not vacuous: the hostile text did travel, escaped, through each kind of field.
    escaped = "&lt;!channel&gt;"
    for kind in ("conversations.setTopic.topic", "conversations.setPurpose.purpose"):
        assert any(escaped in text for where, text in fields if where == kind), kind
    posted = [text for where, text in fields if where == "chat.postMessage.text"]
    assert sum(escaped in text for text in posted) >= 4
    blocks = [as_json(call.args.get("blocks")) for call in world.standin.calls]
    assert any(HOSTILE in text for b in blocks for text in literal_texts(b))  # cards: plain text
    assert not any("evil.example" in url for b in blocks for url in links(b))
