"""Reading Slack button presses: the card decides, mismatches and strangers are refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from adapters.slack.actions import ButtonPress, NotOurs, read_button_press
from workflows.model import Verdict

PAYLOAD: dict[str, Any] = {
    "type": "block_actions",
    "user": {"id": "U0MINA", "team_id": "T0ACME"},
    "team": {"id": "T0ACME"},
    "trigger_id": "123.456.abc",
    "container": {"type": "message", "channel_id": "D0MINA", "message_ts": "1700000001.000100"},
    "actions": [
        {
            "action_id": "signoff.approve",
            "block_id": "signoff:RABC1234:1",
            "value": '{"r":"RABC1234","v":1}',
            "action_ts": "1700000100.123456",
        }
    ],
}


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(PAYLOAD)
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


def test_a_press_on_our_card() -> None:
    press = read_button_press(PAYLOAD)
    assert press == ButtonPress(
        request_id="RABC1234",
        revision=1,
        verdict=Verdict.APPROVE,
        user_id="U0MINA",
        team_id="T0ACME",
        location={"channel": "D0MINA", "ts": "1700000001.000100"},
        delivery_key="T0ACME:U0MINA:1700000100.123456:signoff.approve",
        trigger_id="123.456.abc",
    )
    assert not press.needs_comment
    reject = read_button_press(_with(["actions", 0, "action_id"], "signoff.reject"))
    assert isinstance(reject, ButtonPress) and reject.needs_comment


def test_authz_17_a_value_that_disagrees_with_its_card() -> None:
    forged = _with(["actions", 0, "value"], json.dumps({"r": "RABC9999", "v": 1}))
    assert read_button_press(forged) == NotOurs(True, "the button's value disagrees with its card")


@pytest.mark.parametrize(
    ("path", "value", "ours"),
    [
        (["actions", 0, "action_id"], "other.app.button", False),
        (["actions", 0, "action_id"], "signoff.launch", True),  # CHAT-12: ours, but not known
        (["actions", 0, "block_id"], "somewhere-else", True),
        (["actions", 0, "value"], "{not json", True),
        (["actions"], [], False),
        (["actions"], "approve", False),
        (["container"], {}, True),
        (["user"], "U0MINA", True),
    ],
)
def test_payloads_we_cannot_act_on(path: list[str | int], value: Any, ours: bool) -> None:
    result = read_button_press(_with(path, value))
    assert isinstance(result, NotOurs) and result.ours is ours
