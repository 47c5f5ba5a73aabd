"""A named activity end to end through Slack: signed commands, clicks and the request form
in, the Web API stand-in out. `data-access` on credit-scoring has a RACI of its own."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.activity_policy import with_data_access
from tests.harness import build_policy
from tests.slack_world import SlackWorld
from workflows.model import Status


def _use_data_access(world: SlackWorld) -> None:
    world.h.policies.replace(build_policy(with_data_access))


def _posted_to(world: SlackWorld) -> set[str]:
    return {p.args["channel"] for p in world.standin.called("chat.postMessage")}


def _texts_to(world: SlackWorld, channel: str) -> list[str]:
    return [
        p.args["text"]
        for p in world.standin.called("chat.postMessage")
        if p.args["channel"] == channel
    ]


async def test_data_access_reaches_its_own_raci_decides_on_its_quorum_and_is_audited(
    world: SlackWorld,
) -> None:
    _use_data_access(world)
    answer = await world.command("U0DAN", "request data-access credit-scoring -- fraud study")
    assert "for data access to credit-scoring is open; asked Ines Faro and Ada Chief" in answer
    assert "(1 needed)" in answer
    await world.h.relay.drain()
    # Its Accountable and Consulted get cards, its Informed is told: not deploy's people.
    assert _posted_to(world) == {"D0INES", "D0CDAO", "D0SOO", "D0JAE"}
    card = world.card_for("D0INES")
    title = card.args["blocks"][0]["text"]["text"]
    assert title.endswith("for data access to credit-scoring")
    request_id = title.split()[1]

    assert await world.click("U0SOO", world.card_for("D0SOO"), "no-objection") == 200
    # The deploy Accountable may not decide a data access.
    assert await world.click("U0MINA", card, "approve") == 200
    refusal = world.standin.called("chat.postEphemeral")[-1]
    assert refusal.args["user"] == "U0MINA"
    assert "Only the Accountable for data access to credit-scoring" in refusal.args["text"]
    # One data owner is the quorum.
    assert await world.click("U0INES", world.card_for("D0INES"), "approve") == 200
    assert (await world.h.state(request_id)).status is Status.APPROVED
    await world.h.relay.drain()
    assert any("approved by Ines Faro" in t for t in _texts_to(world, "D0DAN"))
    assert any("approved by Ines Faro" in t for t in _texts_to(world, "D0JAE"))
    ledger = [e for e in await world.h.ledger() if e.subject_id == request_id]
    assert [e.action for e in ledger] == ["requested", "consulted", "denied", "approved"]
    assert {e.data["activity"] for e in ledger} == {"data-access"}
    assert await world.h.chain_ok()


async def test_data_access_expires_on_its_own_rule(world: SlackWorld) -> None:
    _use_data_access(world)
    answer = await world.command("U0DAN", "request data-access credit-scoring")
    request_id = answer.split()[1]
    state = await world.h.state(request_id)
    # The activity's 24 h, not the high tier's 72 h.
    assert (state.expires_at - state.opened_at).total_seconds() == 24 * 3600
    await world.h.relay.drain()
    world.h.clock.advance(hours=24)
    assert (await world.h.tick(request_id)).code == "expired"
    assert await world.click("U0INES", world.card_for("D0INES"), "approve") == 200
    late = world.standin.called("chat.postEphemeral")[-1]
    assert "already expired" in late.args["text"]
    await world.h.relay.drain()
    told = _texts_to(world, "D0DAN")
    assert any("expired unanswered" in t and "nothing was granted" in t for t in told), told
    actions = [e.action for e in await world.h.ledger() if e.subject_id == request_id]
    assert actions == ["requested", "expired", "denied"]


async def test_a_deploy_responsible_who_asks_for_data_access_is_refused_and_audited(
    world: SlackWorld,
) -> None:
    _use_data_access(world)
    answer = await world.command("U0SOO", "request data-access credit-scoring")
    assert answer == (
        "Only the Responsible for data access to credit-scoring may ask for it: "
        "security-compliance (Dan Ruiz)."
    )
    [entry] = await world.h.ledger()
    assert (entry.action, entry.actor_person, entry.actor_platform) == ("denied", "soo", "slack")
    assert entry.data["reason"] == "not-responsible"
    assert entry.data["activity"] == "data-access"
    await world.h.relay.drain()
    assert world.standin.called("chat.postMessage") == []
    # Soo may still ask for what Soo is Responsible for.
    assert "is open" in await world.command("U0SOO", "deploy credit-scoring 2.4 to prod")


async def test_help_and_raci_list_the_systems_activities(world: SlackWorld) -> None:
    _use_data_access(world)
    helped = await world.command("U0DAN", "help credit-scoring")
    assert "deploy credit-scoring &lt;version&gt;" in helped
    assert "request data-access credit-scoring" in helped
    assert "Data access: asked by security-compliance, approved by data-owner" in helped
    raci = await world.command("U0DAN", "raci credit-scoring")
    assert "deploy (approval, quorum 2): R ml-engineer; A ai-governance-lead" in raci
    assert "data-access (approval, quorum 1): R security-compliance; A data-owner" in raci
    unknown = await world.command("U0DAN", "request refund credit-scoring")
    assert unknown == (
        "credit-scoring has no approval activity 'refund'; its activities are: deploy, data-access."
    )


def _view(value: Any) -> dict[str, Any]:
    """A view as the Web API stand-in recorded it: JSON text, or already a mapping."""
    view: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return view


def _form(world: SlackWorld) -> dict[str, Any]:
    return _view(world.standin.called("views.open")[-1].args["view"])


def _options(form: dict[str, Any], block: str) -> list[str]:
    found = next(b for b in form["blocks"] if b["block_id"].split(".")[0] == block)
    return [o["value"] for o in found["element"]["options"]]


async def test_the_request_form_offers_the_chosen_systems_activities(world: SlackWorld) -> None:
    _use_data_access(world)
    assert await world.command("U0DAN", "request") == ""
    form = _form(world)
    assert _options(form, "system") == ["credit-scoring", "doc-search", "support-bot"]
    # Picking a system redraws the form with that system's activities only.
    world.standin.script("views.update", 200, {"ok": True, "view": {"id": "V0ASK"}})
    picked = {
        "type": "block_actions",
        "user": {"id": "U0DAN", "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "trigger_id": "9.9.9",
        "container": {"type": "view", "view_id": "V0ASK"},
        "view": {
            "id": "V0ASK",
            "hash": "h1",
            "callback_id": "signoff.deploy",
            "state": {"values": {}},
        },
        "actions": [
            {
                "type": "static_select",
                "action_id": "signoff.form.system",
                "block_id": "system",
                "selected_option": {"value": "credit-scoring"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    response = await world.post(urlencode({"payload": json.dumps(picked)}).encode())
    assert response.status == 200
    update = world.standin.called("views.update")[-1].args
    redrawn = _view(update["view"])
    assert (update["view_id"], update["hash"]) == ("V0ASK", "h1")
    assert _options(redrawn, "activity") == ["deploy", "data-access"]
    assert world.standin.called("chat.postEphemeral") == []  # not taken for a stale button

    values = {
        "system": {
            "signoff.form.system": {
                "type": "static_select",
                "selected_option": {"value": "credit-scoring"},
            }
        },
        "activity.credit-scoring": {
            "value": {"type": "static_select", "selected_option": {"value": "data-access"}}
        },
        "version": {"value": {"type": "plain_text_input", "value": None}},
        "environment": {"value": {"type": "plain_text_input", "value": None}},
        "reason": {"value": {"type": "plain_text_input", "value": "audit sample"}},
    }
    submission = {
        "type": "view_submission",
        "user": {"id": "U0DAN", "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "view": {
            "type": "modal",
            "id": "V0ASK",
            "callback_id": "signoff.deploy",
            "state": {"values": values},
        },
    }
    response = await world.post(urlencode({"payload": json.dumps(submission)}).encode())
    assert response.status == 200
    told = world.standin.called("chat.postMessage")[-1]
    assert told.args["channel"] == "U0DAN"
    assert "for data access to credit-scoring is open" in told.args["text"]
    request_id = told.args["text"].split()[1]
    state = await world.h.state(request_id)
    assert (state.activity, state.reason) == ("data-access", "audit sample")
