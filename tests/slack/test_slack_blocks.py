"""Block Kit rendering: user text cannot mention, broadcast or link, and limits hold."""

from __future__ import annotations

import json
from dataclasses import replace

from adapters.slack.blocks import TRUNCATED, card_blocks, message_payload
from tests.harness import T0, actor, build_policy
from workflows.cards import CardView, card_view
from workflows.commands import OpenRequest
from workflows.effects import Audience
from workflows.machine import step

POLICY = build_policy()


def _card(reason: str, audience: Audience = Audience.APPROVER) -> CardView:
    command = OpenRequest(
        request_id="RABC123",
        actor=actor("soo"),
        system="credit-scoring",
        version="2.3.1",
        environment="prod",
        reason=reason,
    )
    opened = step(None, command, POLICY, T0, "d" * 64)
    assert opened.state is not None
    return card_view(opened.state, POLICY, audience)


def _texts(blocks: list[dict[str, object]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_chat_01_to_03_user_text_is_never_parsed() -> None:
    nasty = "Deploy now <!channel> <!here> <!everyone> <https://evil.example|Approve here> <@U0CEO>"
    payload = message_payload(nasty, _card(nasty))
    assert "<!channel>" not in payload["text"] and "&lt;!channel&gt;" in payload["text"]
    for block in payload["blocks"]:
        for text in _text_objects(block):
            # Where the user's words appear, Slack shows them literally.
            assert text["type"] == "plain_text"
    assert "https://evil.example" not in json.dumps([b for b in payload["blocks"] if "url" in b])
    assert '"url"' not in _texts(payload["blocks"])


def _text_objects(node: object) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            found.append(node)
        for value in node.values():
            found += _text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _text_objects(value)
    return found


def test_chat_04_no_link_names_or_parse() -> None:
    payload = message_payload("@channel hello", _card("@here"))
    assert "link_names" not in payload and "parse" not in payload


def test_chat_08_long_text_is_cut_and_says_where_the_rest_is() -> None:
    blocks = card_blocks(_card("x" * 10_000))
    reason = next(b for b in blocks if "Why:" in b.get("text", {}).get("text", ""))
    assert len(reason["text"]["text"]) == 3000 and reason["text"]["text"].endswith(TRUNCATED)
    assert len(blocks) <= 50


def test_chat_09_buttons_carry_only_ids() -> None:
    blocks = card_blocks(_card("ok"))
    actions = next(b for b in blocks if b["type"] == "actions")
    assert actions["block_id"] == "signoff:RABC123:1"
    assert [e["action_id"] for e in actions["elements"]] == ["signoff.approve", "signoff.reject"]
    assert {e["value"] for e in actions["elements"]} == {'{"r":"RABC123","v":1}'}


def test_buttons_follow_the_view() -> None:
    consulted = card_blocks(_card("ok", Audience.CONSULTED))
    labels = [e["text"]["text"] for b in consulted if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["No objection", "Raise concern"]
    decided = card_blocks(replace(_card("ok"), buttons=()))
    assert all(b["type"] != "actions" for b in decided)
