"""The Slack flow, in Teams: requests by message, cards by proactive message, Action.Execute.

Everything goes over real HTTP: `POST /api/messages` with RS256 tokens from the local key
server, and the relay's posts and updates to the Bot Connector stand-in.
"""

from __future__ import annotations

from typing import Any

from tests.teams_standin import APP_ID
from tests.teams_world import AAD, BOT_TOKEN, GOV_CHANNEL, TeamsWorld
from workflows.model import Status


async def open_request(teams: TeamsWorld) -> str:
    replies = await teams.say("soo", "deploy credit-scoring 2.3.1 to prod -- quarterly retrain")
    assert len(replies) == 1, replies
    request_id = replies[0].split()[1]
    assert request_id.startswith("R"), replies
    await teams.h.settle()
    return request_id


def texts(card: dict[str, Any]) -> str:
    return "\n".join(
        run["text"]
        for block in card["body"]
        if block["type"] == "RichTextBlock"
        for run in block["inlines"]
    )


async def test_a_request_reaches_approvers_consulted_and_informed_by_proactive_message(
    teams: TeamsWorld,
) -> None:
    request_id = await open_request(teams)
    opened = {call.body["members"][0]["id"] for call in teams.connector.created()}
    assert opened == {AAD[p] for p in ("mina", "jae", "lee", "dan", "ines")}
    for call in teams.connector.created():
        assert call.body["tenantId"] and call.body["bot"]["id"] == f"28:{APP_ID}"
    approver = teams.card_in(teams.chat_of("mina")).body["attachments"][0]["content"]
    assert approver["version"] == "1.5"
    assert [a["title"] for a in approver["actions"]] == ["Approve", "Reject"]
    assert request_id in texts(approver)
    consulted = teams.card_in(teams.chat_of("dan")).body["attachments"][0]["content"]
    assert [a["title"] for a in consulted["actions"]] == ["No objection", "Raise concern"]
    informed = teams.card_in(GOV_CHANNEL).body["attachments"][0]["content"]
    assert informed["actions"] == []
    # Those who may answer see their buttons on the channel's copy after a refresh; Teams
    # names them by user MRI (`29:...`), not by Entra object id.
    assert set(informed["refresh"]["userIds"]) == {f"29:{p}" for p in ("mina", "jae", "lee", "dan")}
    assert all(c.authorization == f"Bearer {BOT_TOKEN}" for c in teams.connector.calls)
    assert (await teams.h.state(request_id)).status is Status.PENDING


def note_of(body: dict[str, Any]) -> str:
    """The line shown only to the person who pressed: the card's second block."""
    return str(body["value"]["body"][1]["inlines"][0]["text"])


async def test_high_tier_flow_with_consultation_quorum_and_refreshed_cards(
    teams: TeamsWorld,
) -> None:
    request_id = await open_request(teams)
    mina_card = teams.card_in(teams.chat_of("mina"))

    # Under consult_first the Accountable's early approval is refused, to them alone.
    status, body = await teams.press("mina", mina_card, "signoff.approve")
    assert status == 200 and body["statusCode"] == 200
    assert "requires consultation first: waiting for Dan Ruiz" in note_of(body)
    assert [a["title"] for a in body["value"]["actions"]] == ["Approve", "Reject"]

    # Someone outside the RACI is refused, politely, and sees a read-only card.
    outsider = teams.invoke("out", mina_card, "signoff.approve")
    response = await teams.send(outsider)
    refused = await response.json()
    assert response.status == 200
    assert note_of(refused).startswith("Only the Accountable for deploying credit-scoring")
    assert refused["value"]["actions"] == []

    status, body = await teams.press(
        "dan", teams.card_in(teams.chat_of("dan")), "signoff.no-objection"
    )
    assert status == 200 and body["value"]["actions"] == []  # answered: no more buttons
    await teams.h.settle()
    updates_before = len(teams.connector.updates())

    status, body = await teams.press("mina", mina_card, "signoff.approve")
    assert status == 200 and "1 of 2" in texts(body["value"])
    status, body = await teams.press("jae", teams.card_in(teams.chat_of("jae")), "signoff.approve")
    assert status == 200
    await teams.h.settle()

    assert (await teams.h.state(request_id)).status is Status.APPROVED
    assert "approved by Mina Park and Jae Kim" in texts(body["value"])
    # Every posted copy was re-rendered in place, the channel's included, without buttons.
    updated = {call.path for call in teams.connector.updates()[updates_before:]}
    assert (
        f"/v3/conversations/{GOV_CHANNEL}/activities/{teams.activity_id_of(teams.card_in(GOV_CHANNEL))}"
        in updated
    )
    final = teams.connector.updates()[-1].body["attachments"][0]["content"]
    assert final["actions"] == [] and "refresh" not in final
    told = [c.body.get("text", "") for c in teams.connector.posts(teams.personal("soo"))]
    assert any("approved by Mina Park and Jae Kim" in t for t in told)
    assert await teams.h.actions(request_id) == [
        "requested",
        "denied",
        "denied",
        "consulted",
        "voted",
        "approved",
    ]
    assert await teams.h.chain_ok()


async def test_reject_needs_a_reason_and_then_closes_the_request(teams: TeamsWorld) -> None:
    request_id = await open_request(teams)
    await teams.press("dan", teams.card_in(teams.chat_of("dan")), "signoff.no-objection")
    card = teams.card_in(teams.chat_of("lee"))
    reject = next(
        a for a in card.body["attachments"][0]["content"]["actions"] if a["title"] == "Reject"
    )
    assert reject["type"] == "Action.ShowCard"
    assert reject["card"]["body"][0]["isRequired"] is True

    status, body = await teams.press("lee", card, "signoff.reject", comment="  ")
    assert status == 200 and "reason" in note_of(body).lower()
    assert (await teams.h.state(request_id)).status is Status.PENDING

    status, body = await teams.press("lee", card, "signoff.reject", comment="bias audit missing")
    assert status == 200
    await teams.h.settle()
    state = await teams.h.state(request_id)
    assert state.status is Status.REJECTED
    assert "bias audit missing" in texts(body["value"])
    assert await teams.h.chain_ok()
