"""Hidden characters typed into a Slack form never reach the ledger or a card: over signed
HTTP, through the real bolt app, to the Web API stand-in."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from tests.slack_world import SlackWorld
from workflows.model import Status

TYPED = "no bias\u202e audit\u2060 yet"
SHOWN = "no bias audit yet"


def _hidden_in(value: Any) -> list[str]:
    """Every format, separator or control character anywhere in a JSON-like value."""
    text = json.dumps(value, ensure_ascii=False)
    return [c for c in text if unicodedata.category(c) in ("Cf", "Zl", "Zp", "Cc")]


async def _submit_reason(world: SlackWorld, user: str, reason: str) -> str:
    form = world.standin.called("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    response = await world.post(world.standin.reason_submission(user, reason))
    assert response.status == 200
    return str(json.loads(form["private_metadata"])["request_id"])


async def test_item_8_a_reject_reason_with_bidi_and_word_joiner_from_a_slack_modal_is_stored_and_shown_clean(  # noqa: E501
    world: SlackWorld,
) -> None:
    await world.command("U0SOO", "deploy support-bot 1.0")
    await world.h.relay.drain()
    assert await world.click("U0JAE", world.card_for("D0JAE"), "reject") == 200
    request_id = await _submit_reason(world, "U0JAE", TYPED)

    state = await world.h.state(request_id)
    assert state.status is Status.REJECTED and state.rejection is not None
    assert state.rejection.comment == SHOWN
    rejected = [e for e in await world.h.ledger() if e.action == "rejected"]
    assert [e.data["reason"] for e in rejected] == [SHOWN]

    await world.h.relay.drain()
    updates = world.standin.called("chat.update")
    assert updates, "the cards were not updated with the decision"
    for update in updates:
        shown = json.dumps(update.args, ensure_ascii=False)
        assert SHOWN in shown
        assert _hidden_in(update.args.get("blocks")) == []
    assert await world.h.chain_ok()
