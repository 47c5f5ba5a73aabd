"""Slack end to end over real HTTP: signed requests in, the Web API stand-in out."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlencode

from tests.slack_world import SlackWorld
from workflows.model import Status


async def test_deploy_from_slash_command_to_approval(world: SlackWorld) -> None:
    answer = await world.command("U0SOO", "deploy doc-search 2.3.1 to prod -- weekly refresh")
    assert "is open; asked Mina Park, Jae Kim and Lee Cho to approve" in answer
    await world.h.relay.drain()
    mina_card = world.card_for("D0MINA")

    assert await world.click("U0OUT", world.card_for("D0LEE"), "approve") == 200
    refusal = world.standin.called("chat.postEphemeral")[-1]
    assert refusal.args["user"] == "U0OUT" and "Only the Accountable" in refusal.args["text"]

    assert await world.click("U0MINA", mina_card, "approve") == 200
    request_id = json.loads(mina_card.args["blocks"][-1]["elements"][0]["value"])["r"]
    assert (await world.h.state(request_id)).status is Status.APPROVED
    await world.h.relay.drain()
    updated = {u.args["channel"] for u in world.standin.called("chat.update")}
    assert updated == {"D0MINA", "D0JAE", "D0LEE"}
    actions = await world.h.actions(request_id)
    assert actions == ["requested", "denied", "approved"]
    assert await world.h.chain_ok()


async def test_reject_through_the_reason_form(world: SlackWorld) -> None:
    await world.command("U0SOO", "deploy support-bot 1.0")
    await world.h.relay.drain()
    assert await world.click("U0JAE", world.card_for("D0JAE"), "reject") == 200
    form = world.standin.called("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    response = await world.post(world.standin.reason_submission("U0JAE", "no bias audit"))
    assert response.status == 200
    request_id = json.loads(form["private_metadata"])["request_id"]
    state = await world.h.state(request_id)
    assert state.status is Status.REJECTED and state.rejection is not None
    assert state.rejection.comment == "no bias audit"


async def test_bad_grammar_is_explained_only_to_the_sender(world: SlackWorld) -> None:
    answer = await world.command("U0SOO", "deploy credit-scoring 2.3.1 prod")
    assert "write 'to &lt;env&gt;'" in answer
    assert world.standin.called("chat.postMessage") == []


async def test_sig_20_a_replayed_click_and_authz_11_a_click_on_a_decided_card(
    world: SlackWorld,
) -> None:
    await world.command("U0SOO", "deploy doc-search 3.1")
    await world.h.relay.drain()
    click = world.click_body("U0MINA", world.card_for("D0MINA"), "approve")
    first, replay = await world.post(click), await world.post(click)
    assert (first.status, replay.status) == (200, 200)
    ledger = await world.h.ledger()
    decided = [e for e in ledger if e.action == "approved"]
    assert len(decided) == 1 and not any(e.action == "denied" for e in ledger)
    assert await world.h.vote_rows(decided[0].subject_id) == [("mina", "approval")]

    assert await world.click("U0JAE", world.card_for("D0JAE"), "approve") == 200
    told = world.standin.called("chat.postEphemeral")[-1]
    assert told.args["user"] == "U0JAE"
    assert "already approved by Mina Park" in told.args["text"]


async def test_status_lists_what_waits_on_me(world: SlackWorld) -> None:
    assert await world.command("U0MINA", "status") == "Nothing waits on you."
    await world.command("U0SOO", "deploy credit-scoring 2.4 to prod")
    mina = await world.command("U0MINA", "status")
    assert "deploy credit-scoring 2.4 to prod: your approval (0 of 2 approvals)" in mina
    dan = await world.command("U0DAN", "status")
    assert "your view as Consulted" in dan
    assert await world.command("U0SOO", "status") == "Nothing waits on you."


async def test_deploy_without_arguments_opens_the_form(world: SlackWorld) -> None:
    assert await world.command("U0SOO", "deploy") == ""
    form = world.standin.called("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    picker = form["blocks"][0]["element"]
    assert [o["value"] for o in picker["options"]] == [
        "credit-scoring",
        "doc-search",
        "support-bot",
    ]

    def submission(version: str) -> bytes:
        values = {
            "system": {
                "value": {"type": "static_select", "selected_option": {"value": "doc-search"}}
            },
            "version": {"value": {"type": "plain_text_input", "value": version}},
            "environment": {"value": {"type": "plain_text_input", "value": "prod"}},
            "reason": {"value": {"type": "plain_text_input", "value": None}},
        }
        payload = {
            "type": "view_submission",
            "user": {"id": "U0SOO", "team_id": "T0ACME"},
            "team": {"id": "T0ACME"},
            "view": {
                "type": "modal",
                "id": "V0DEPLOY",
                "callback_id": "signoff.deploy",
                "state": {"values": values},
            },
        }
        return urlencode({"payload": json.dumps(payload)}).encode()

    bad = await world.post(submission("2.3.1;"))
    assert bad.status == 200
    assert (await bad.json())["response_action"] == "errors"
    assert world.standin.called("chat.postMessage") == []
    good = await world.post(submission("2.3.1"))
    assert good.status == 200
    told = world.standin.called("chat.postMessage")[-1]
    assert told.args["channel"] == "U0SOO" and "is open" in told.args["text"]
    # The same submission again (a retry, a replay) opens nothing and says nothing more.
    posted = len(world.standin.called("chat.postMessage"))
    assert (await world.post(submission("2.3.1"))).status == 200
    assert [e.action for e in await world.h.ledger()].count("requested") == 1
    assert len(world.standin.called("chat.postMessage")) == posted


async def test_high_tier_flow_with_consultation_and_a_quorum_of_two(world: SlackWorld) -> None:
    await world.command("U0SOO", "deploy credit-scoring 2.3.1 to prod -- quarterly retrain")
    await world.h.relay.drain()
    assert {p.args["channel"] for p in world.standin.called("chat.postMessage")} == {
        "D0MINA",
        "D0JAE",
        "D0LEE",
        "D0DAN",
        "C0GOV",
        "D0INES",
    }
    assert await world.click("U0MINA", world.card_for("D0MINA"), "approve") == 200
    early = world.standin.called("chat.postEphemeral")[-1]
    assert "requires consultation first: waiting for Dan Ruiz" in early.args["text"]

    assert await world.click("U0DAN", world.card_for("D0DAN"), "no-objection") == 200
    assert await world.click("U0MINA", world.card_for("D0MINA"), "approve") == 200
    assert await world.click("U0JAE", world.card_for("D0JAE"), "approve") == 200
    await world.h.relay.drain()

    request_id = next(e.subject_id for e in await world.h.ledger() if e.action == "requested")
    assert (await world.h.state(request_id)).status is Status.APPROVED
    gov = [
        p.args["text"]
        for p in world.standin.called("chat.postMessage")
        if p.args["channel"] == "C0GOV"
    ]
    assert any("approved by Mina Park and Jae Kim" in t for t in gov)
    soo = [
        p.args["text"]
        for p in world.standin.called("chat.postMessage")
        if p.args["channel"] == "D0SOO"
    ]
    assert any("approved by Mina Park and Jae Kim" in t for t in soo)
    assert await world.h.actions(request_id) == [
        "requested",
        "denied",
        "consulted",
        "voted",
        "approved",
    ]
    assert await world.h.chain_ok()


def _tampered(body: bytes, old: str, new: str) -> bytes:
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    text = json.dumps(payload).replace(old, new)
    return urlencode({"payload": text}).encode()


def _of_revision(body: bytes, revision: int) -> bytes:
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    action = payload["actions"][0]
    request_id = json.loads(action["value"])["r"]
    action["block_id"] = f"signoff:{request_id}:{revision}"
    action["value"] = json.dumps({"r": request_id, "v": revision}, separators=(",", ":"))
    return urlencode({"payload": json.dumps(payload)}).encode()


def _last_private_reply(world: SlackWorld) -> str:
    return str(world.standin.called("chat.postEphemeral")[-1].args["text"])


async def test_authz_13_to_15_and_chat_15_over_http(world: SlackWorld) -> None:
    await world.command("U0SOO", "deploy doc-search 4.0")
    await world.h.relay.drain()

    def click() -> bytes:  # each a new press: Slack stamps every press with its own action_ts
        return world.click_body("U0MINA", world.card_for("D0MINA"), "approve")

    # AUTHZ-13: a card of another revision (block id and value agree, but say v2).
    assert (await world.post(_of_revision(click(), 2))).status == 200
    assert "changed since that card was sent" in _last_private_reply(world)

    # AUTHZ-14: the same button copied to another message.
    elsewhere = _tampered(click(), '"D0MINA"', '"C0ELSEWHERE"')
    assert (await world.post(elsewhere)).status == 200
    assert "not on one of this request's cards" in _last_private_reply(world)

    # AUTHZ-15: the same click twice at once is one decision.
    same = click()
    first, second = await asyncio.gather(world.post(same), world.post(same))
    assert (first.status, second.status) == (200, 200)
    ledger = await world.h.ledger()
    assert [e.action for e in ledger].count("approved") == 1
    assert [e.data.get("reason") for e in ledger if e.action == "denied"] == [
        "stale",
        "wrong-location",
    ]

    # CHAT-15: anything but the exact grammar is refused and changes nothing.
    answer = await world.command("U0MINA", "approve R1; /signoff approve R2")
    assert "Unknown command 'approve'" in answer
    assert len(await world.h.ledger()) == len(ledger)


async def test_authz_12_a_click_after_the_deadline_is_refused_as_expired(
    world: SlackWorld,
) -> None:
    await world.command("U0SOO", "deploy doc-search 3.0 to prod")
    await world.h.relay.drain()
    card = world.card_for("D0MINA")
    request_id = json.loads(world.standin.press("U0MINA", card, "approve")["actions"][0]["value"])[
        "r"
    ]
    expires_at = (await world.h.state(request_id)).expires_at
    world.h.clock.now = expires_at + timedelta(seconds=1)

    assert await world.click("U0MINA", card, "approve") == 200
    told = world.standin.called("chat.postEphemeral")[-1]
    assert told.args["user"] == "U0MINA" and "expired" in told.args["text"]
    assert (await world.h.state(request_id)).status is Status.EXPIRED
    assert await world.h.actions(request_id) == ["requested", "expired", "denied"]
    await world.h.relay.drain()
    final = [u for u in world.standin.called("chat.update") if u.args["channel"] == "D0MINA"][-1]
    assert not any(b["type"] == "actions" for b in final.args["blocks"])
    assert await world.h.chain_ok()


async def test_chat_12_buttons_we_do_not_know(world: SlackWorld) -> None:
    await world.command("U0SOO", "deploy doc-search 4.0 to prod")
    await world.h.relay.drain()
    press = world.standin.press("U0MINA", world.card_for("D0MINA"), "approve")
    press["actions"][0]["action_id"] = "signoff.launch"
    response = await world.post(urlencode({"payload": json.dumps(press)}).encode())
    assert response.status == 200
    told = world.standin.called("chat.postEphemeral")[-1]
    assert told.args["user"] == "U0MINA" and "no longer active" in told.args["text"]

    before = len(world.standin.calls)
    press["actions"][0]["action_id"] = "someone-elses.button"
    response = await world.post(urlencode({"payload": json.dumps(press)}).encode())
    assert response.status == 200
    assert len(world.standin.calls) == before
    assert await world.h.actions(json.loads(press["actions"][0]["value"])["r"]) == ["requested"]


async def test_the_same_signed_slash_command_posted_twice_opens_one_request(
    world: SlackWorld,
) -> None:
    """A retry or a replay within the five minutes carries the invocation's `trigger_id`."""
    body = world.command_body("U0SOO", "deploy doc-search 5.0 -- replayed")
    first, again = await world.post(body), await world.post(body)
    assert (first.status, again.status) == (200, 200)
    assert "is open" in await first.text()
    assert await again.text() == ""  # answered the first time; nothing more to say
    ledger = await world.h.ledger()
    assert [e.action for e in ledger] == ["requested"]
    # Typed again, it is a new invocation with its own trigger: a second request.
    assert "is open" in await world.command("U0SOO", "deploy doc-search 5.0 -- replayed")
    assert [e.action for e in await world.h.ledger()].count("requested") == 2
