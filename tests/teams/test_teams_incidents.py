"""Incidents in Teams: the channel made through the Graph stand-in, and the fallback on 403."""

from __future__ import annotations

from tests.teams_world import AAD, GOV_CHANNEL, INCIDENT_TEAM, TeamsWorld

ROOM = "inc-20261102-credit-scoring-1"
ROOM_ID = f"19:{ROOM}@thread.tacv2"


def texts(teams: TeamsWorld, conversation: str) -> list[str]:
    return [c.body.get("text", "") for c in teams.connector.posts(conversation)]


async def test_an_incident_gets_a_private_channel_with_its_people(teams: TeamsWorld) -> None:
    (opened,) = await teams.say("soo", "incident credit-scoring sev2 scores drift after retrain")
    assert f"room {ROOM}" in opened
    await teams.h.settle()
    (create,) = [c for c in teams.graph.calls if c.path.endswith("/channels")]
    assert create.path == f"/v1.0/teams/{INCIDENT_TEAM}/channels"
    assert create.body["displayName"] == ROOM and create.body["membershipType"] == "private"
    assert create.body["members"][0]["roles"] == ["owner"]
    assert AAD["soo"] in create.body["members"][0]["user@odata.bind"]
    assert set(teams.graph.members_added()) == {
        AAD[p] for p in ("soo", "mina", "jae", "lee", "dan")
    }
    first = texts(teams, ROOM_ID)[0]
    assert "sev2" in first and "Credit scoring model" in first and "R: ml-engineer" in first
    announced = texts(teams, GOV_CHANNEL)[-1]
    assert "https://teams.microsoft.com/l/channel/" in announced and INCIDENT_TEAM in announced
    assert all(c.authorization == "Bearer bot-token-from-msal" for c in teams.graph.calls)

    (refused,) = await teams.say("soo", "deploy credit-scoring 2.4.0")
    assert "frozen while incident" in refused
    incident = next(e.subject_id for e in await teams.h.ledger() if e.action == "incident-opened")
    (closed,) = await teams.say("mina", f"incident close {incident} -- rolled back")
    assert "closed by Mina Park" in closed
    await teams.h.settle()
    assert any("rolled back" in t for t in texts(teams, ROOM_ID))
    assert any("rolled back" in t for t in texts(teams, GOV_CHANNEL))
    (allowed,) = await teams.say("soo", "deploy credit-scoring 2.4.1")
    assert allowed.startswith("Request R")
    assert await teams.h.chain_ok()


async def test_without_graph_permission_the_informed_channel_gets_the_incident(
    teams: TeamsWorld,
) -> None:
    teams.graph.forbid = True
    await teams.say("soo", "incident credit-scoring sev3 latency up")
    await teams.h.settle()
    assert teams.graph.members_added() == []
    notice = texts(teams, GOV_CHANNEL)[-1]
    assert "latency up" in notice and "Credit scoring model" in notice
    assert "could not make a Teams channel" in notice and "Channel.Create" in notice
    # No room: nothing was posted to one, and nothing is stuck in the outbox for Teams.
    assert not [c for c in teams.connector.posts() if "inc-" in c.path]
    assert await teams.h.relay.pending() == 0
