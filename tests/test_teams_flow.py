"""The Slack flow, in Teams: requests by message, cards by proactive message, Action.Execute.

Everything goes over real HTTP: `POST /api/messages` with RS256 tokens from the local key
server, and the relay's posts and updates to the Bot Connector stand-in.
"""

from __future__ import annotations

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


def texts(card: dict) -> str:
    return "\n".join(
        run["text"] for block in card["body"] if block["type"] == "RichTextBlock"
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
    # Those who may answer see their buttons on the channel's copy after a refresh.
    assert set(informed["refresh"]["userIds"]) == {AAD[p] for p in ("mina", "jae", "lee", "dan")}
    assert all(c.authorization == f"Bearer {BOT_TOKEN}" for c in teams.connector.calls)
    assert (await teams.h.state(request_id)).status is Status.PENDING
