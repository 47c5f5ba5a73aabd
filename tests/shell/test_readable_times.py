"""Slack blocks and Teams cards show a request's times in the policy's zone, to the minute."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from adapters.slack.blocks import message_payload
from adapters.teams.cards import adaptive_card
from tests.harness import T0, actor, build_policy
from workflows.cards import CardView, card_view
from workflows.commands import Answer, OpenRequest
from workflows.effects import Audience
from workflows.machine import step
from workflows.model import ApprovalRequest, Verdict
from workflows.policy import Policy

MACHINE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d|\.\d{6}Z?")
OPENED = T0 + timedelta(seconds=42, microseconds=123456)  # 2026-11-02 09:00:42 UTC


def _zone(name: str) -> Policy:
    def change(raw: dict[str, Any]) -> None:
        raw["timezone"] = name

    return build_policy(change)


def _open(policy: Policy, system: str) -> ApprovalRequest:
    command = OpenRequest(request_id="R1", actor=actor("soo"), system=system, version="2.3.1")
    opened = step(None, command, policy, OPENED, "d" * 64)
    assert opened.state is not None
    return opened.state


def _decided(policy: Policy) -> ApprovalRequest:
    state = _open(policy, "support-bot")
    for minutes, person in ((3, "mina"), (7, "jae")):
        answer = Answer(request_id="R1", actor=actor(person), verdict=Verdict.APPROVE)
        after = step(state, answer, policy, OPENED + timedelta(minutes=minutes), "d" * 64).state
        assert after is not None
        state = after
    return state


def _slack(card: CardView) -> str:
    return json.dumps(message_payload("update", card)["blocks"], ensure_ascii=False)


def _teams(card: CardView) -> str:
    return json.dumps(adaptive_card(card), ensure_ascii=False)


RENDERERS = {"slack blocks": _slack, "teams card": _teams}
# Zone, what a pending card says of its expiry, what a decided card says of its decision.
ZONES = {
    "Europe/Berlin": ("Expires at 2026-11-09 10:00 CET", "at 2026-11-02 10:07 CET"),
    "America/New_York": ("Expires at 2026-11-09 04:00 EST", "at 2026-11-02 04:07 EST"),
    "UTC": ("Expires at 2026-11-09 09:00 UTC", "at 2026-11-02 09:07 UTC"),
}


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize("zone", ZONES)
def test_item_14_a_card_shows_its_expiry_and_decision_in_the_policy_zone_to_the_minute(
    render: Any, zone: str
) -> None:
    policy = _zone(zone)
    expiry, decision = ZONES[zone]
    pending = render(card_view(_open(policy, "support-bot"), policy, Audience.APPROVER))
    assert expiry in pending
    decided = render(card_view(_decided(policy), policy, Audience.INFORMED))
    assert f"approved by Mina Park and Jae Kim {decision}" in decided
    for shown in (pending, decided):
        assert MACHINE_TIME.search(shown) is None, shown


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
def test_item_14_a_card_waiting_on_consultation_says_when_approval_opens_in_local_time(
    render: Any,
) -> None:
    policy = _zone("Europe/Berlin")
    shown = render(card_view(_open(policy, "credit-scoring"), policy, Audience.APPROVER))
    assert "Approval opens once Dan Ruiz answered, or at 2026-11-02 14:00 CET." in shown
    assert MACHINE_TIME.search(shown) is None, shown
