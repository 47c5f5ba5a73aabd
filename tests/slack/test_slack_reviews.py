"""Risk reviews in Slack over HTTP: `/signoff reviews`, `/signoff review` and its form."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from bot.scheduling.sweep import run_sweep
from tests.harness import CHECKLIST, T0, review_policy
from tests.slack_world import SlackWorld
from workflows.reviews import ReviewStatus


def _submission(user: str, form: dict[str, Any], checked: tuple[str, ...], notes: str) -> bytes:
    options = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in checked]
    payload = {
        "type": "view_submission",
        "user": {"id": user, "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "view": {
            "type": "modal",
            "id": "V0FORM",
            "callback_id": form["callback_id"],
            "private_metadata": form["private_metadata"],
            "state": {
                "values": {
                    "checklist": {"value": {"type": "checkboxes", "selected_options": options}},
                    "notes": {"value": {"type": "plain_text_input", "value": notes}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def test_reviews_are_listed_and_completed_through_the_form(world: SlackWorld) -> None:
    h = world.h
    h.policies.replace(review_policy())
    assert "No risk review is due" in await world.command("U0SOO", "reviews")
    await run_sweep(h.runtime(), T0)
    h.clock.now = T0 + timedelta(days=25)
    listed = await world.command("U0SOO", "reviews")
    assert "credit-scoring: due 2026-12-02 (in 5 days)" in listed
    # Mina is its Accountable: the review is hers to complete, and says so.
    mine = await world.command("U0MINA", "reviews")
    assert mine == "Yours to complete:\ncredit-scoring: due 2026-12-02 (in 5 days)"

    assert await world.command("U0MINA", "review credit-scoring") == ""
    form = world.standin.called("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    checkboxes = form["blocks"][1]["element"]["options"]
    assert [o["value"] for o in checkboxes] == list(CHECKLIST)

    refused = await world.post(_submission("U0SOO", form, CHECKLIST, ""))
    assert refused.status == 200
    errors = (await refused.json())["errors"]
    assert "Only Mina Park, Jae Kim and Lee Cho can complete" in errors["notes"]

    gaps = await world.post(_submission("U0MINA", form, CHECKLIST[:3], ""))
    assert "Incidents since the last review" in (await gaps.json())["errors"]["notes"]

    done = await world.post(_submission("U0MINA", form, CHECKLIST, "Fairness metrics stable."))
    assert done.status == 200 and await done.text() == ""
    completed = [e for e in await h.ledger() if e.action == "review-completed"]
    assert len(completed) == 1 and completed[0].actor_person == "mina"
    assert completed[0].data["notes"] == "Fairness metrics stable."
    following = await h.reviews.open_review("credit-scoring")
    assert following is not None and following.status is ReviewStatus.DUE
    assert "credit-scoring" not in await world.command("U0SOO", "reviews")
    await h.relay.drain()
    told = [c for c in world.standin.called("chat.postMessage") if c.args["channel"] == "C0GOV"]
    assert any("was completed by Mina Park" in c.args["text"] for c in told)
    assert await h.chain_ok()


async def test_review_of_an_unknown_system_is_explained(world: SlackWorld) -> None:
    assert "There is no AI system 'nope'" in await world.command("U0MINA", "review nope")
    assert world.standin.called("views.open") == []
