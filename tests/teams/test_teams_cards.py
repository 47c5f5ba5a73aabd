"""Adaptive Cards from card views: what each audience sees, and nothing smuggled in."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from adapters.teams.cards import MAX_REFRESH_USERS, adaptive_card
from workflows.cards import CardView
from workflows.model import Status, Verdict

VIEW = CardView(
    request_id="R0000000000AB",
    revision=3,
    title="Request R0000000000AB to deploy credit-scoring 2.3.1 to prod",
    system="credit-scoring",
    system_name="Credit scoring model",
    tier="high",
    version="2.3.1",
    environment="prod",
    reason="[click me](https://evil.example) <at>everyone</at> **now**",
    requester="Soo Han",
    status=Status.PENDING,
    status_text="1 of 2 approvals",
    raci=(("Accountable", "ai-governance-lead"),),
    consultation=(("Dan Ruiz", "waiting"),),
    notice="Expires soon.",
    buttons=(Verdict.APPROVE, Verdict.REJECT),
    answerers=tuple(f"p{i}" for i in range(100)),
)


def _blocks(card: dict[str, Any]) -> list[dict[str, Any]]:
    return list(card["body"])


def test_user_text_is_never_markdown() -> None:
    card = adaptive_card(VIEW)
    assert {b["type"] for b in _blocks(card)} == {"RichTextBlock"}
    runs = [run for block in _blocks(card) for run in block["inlines"]]
    assert all(run["type"] == "TextRun" for run in runs)
    assert any(VIEW.reason in run["text"] for run in runs)  # shown as typed, not rendered


def test_buttons_carry_only_ids_and_reject_asks_why() -> None:
    card = adaptive_card(VIEW)
    approve, reject = card["actions"]
    assert approve == {
        "type": "Action.Execute",
        "title": "Approve",
        "verb": "signoff.approve",
        "data": {"r": VIEW.request_id, "v": 3},
    }
    assert reject["type"] == "Action.ShowCard"
    (question,) = reject["card"]["body"]
    assert question["isRequired"] is True and question["id"] == "comment"
    assert reject["card"]["actions"][0]["verb"] == "signoff.reject"


def test_refresh_names_at_most_sixty_people_by_teams_id() -> None:
    ids = {f"p{i}": f"aad-{i}" for i in range(0, 100, 2)}  # half of them have a Teams id
    card = adaptive_card(VIEW, ids)
    users = card["refresh"]["userIds"]
    assert len(users) == min(50, MAX_REFRESH_USERS) and set(users) <= set(ids.values())
    many = {f"p{i}": f"aad-{i}" for i in range(100)}
    assert len(adaptive_card(VIEW, many)["refresh"]["userIds"]) == MAX_REFRESH_USERS
    assert "refresh" not in adaptive_card(replace(VIEW, answerers=()), many)


def test_a_decided_card_has_no_actions_and_a_note_only_when_given() -> None:
    decided = replace(VIEW, status=Status.APPROVED, buttons=(), answerers=())
    card = adaptive_card(decided, note="Only the Accountable can decide this request.")
    assert card["actions"] == [] and "refresh" not in card
    assert _blocks(card)[1]["inlines"][0]["text"].startswith("Only the Accountable")
    assert json.dumps(adaptive_card(decided)).count("Only the Accountable") == 0
