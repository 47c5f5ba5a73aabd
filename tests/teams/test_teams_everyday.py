"""Teams beyond the main flow: install events, refresh for each viewer, channels, `serve`."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from tests.serve_process import _env, signoff, start_server
from tests.teams_standin import APP_ID, TENANT, KeyServer, Tokens
from tests.teams_world import AAD, GOV_CHANNEL, TeamsWorld

TEAM_CHANNEL = "19:general@thread.tacv2"


async def test_an_install_in_a_team_is_enough_to_reach_people_later(teams: TeamsWorld) -> None:
    installed = teams.activity(
        "mina",
        kind="installationUpdate",
        conversation=TEAM_CHANNEL,
        action="add",
    )
    assert (await teams.send(installed)).status in (200, 201, 202)
    added = teams.activity(
        "mina",
        kind="conversationUpdate",
        conversation=TEAM_CHANNEL,
        membersAdded=[{"id": f"28:{APP_ID}"}],
    )
    assert (await teams.send(added)).status in (200, 201, 202)
    # A request opened elsewhere (here straight through the service) reaches Teams people.
    await teams.h.open("soo", system="doc-search")
    await teams.h.settle()
    assert {c.body["members"][0]["id"] for c in teams.connector.created()} == {
        AAD[p] for p in ("mina", "jae", "lee")
    }
    assert teams.connector.replies(TEAM_CHANNEL) == []  # install events get no answer


async def test_refresh_shows_each_viewer_the_card_they_may_use(teams: TeamsWorld) -> None:
    await teams.say("soo", "deploy credit-scoring 2.3.1 -- retrain")
    await teams.h.settle()
    channel_card = teams.card_in(GOV_CHANNEL)
    views = {}
    for person in ("mina", "dan", "ines"):
        refresh = teams.invoke(person, channel_card, "signoff.refresh")
        refresh["conversation"] = {
            "id": GOV_CHANNEL,
            "conversationType": "channel",
            "tenantId": TENANT,
        }
        response = await teams.send(refresh)
        assert response.status == 200
        views[person] = [a["title"] for a in (await response.json())["value"]["actions"]]
    assert views == {
        "mina": ["Approve", "Reject"],
        "dan": ["No objection", "Raise concern"],
        "ines": [],
    }
    assert [e.action for e in await teams.h.ledger()] == ["requested"]  # a refresh records nothing


async def test_a_press_on_the_channels_copy_counts_though_teams_names_the_thread(
    teams: TeamsWorld,
) -> None:
    await teams.say("soo", "deploy support-bot 4.0 -- fix")
    await teams.h.settle()
    channel_card = teams.card_in(GOV_CHANNEL)
    press = teams.invoke("mina", channel_card, "signoff.refresh")  # the data her buttons carry
    press["value"]["action"]["verb"] = "signoff.approve"
    # A card posted to a channel opens a thread; a press on it names the thread, not the channel.
    thread = f"{GOV_CHANNEL};messageid={teams.activity_id_of(channel_card)}"
    press["conversation"] = {"id": thread, "conversationType": "channel", "tenantId": TENANT}
    response = await teams.send(press)
    assert response.status == 200
    assert "1 of 2" in json.dumps(await response.json())
    assert [e.action for e in await teams.h.ledger()] == ["requested", "voted"]


async def test_a_request_by_mention_in_a_channel_is_answered_there(teams: TeamsWorld) -> None:
    message = teams.activity(
        "soo", conversation=TEAM_CHANNEL, text="<at>Signoff</at> deploy doc-search 4.1 -- fix"
    )
    assert (await teams.send(message)).status in (200, 201, 202)
    (reply,) = teams.connector.replies(TEAM_CHANNEL)
    assert reply.startswith("Request R") and "doc-search 4.1" in reply


async def test_bad_grammar_and_unknown_card_actions_are_explained(teams: TeamsWorld) -> None:
    (reply,) = await teams.say("soo", "deploy")
    assert reply.startswith("deploy <system> <version>")
    (reply,) = await teams.say("soo", "approve everything now")
    assert "Unknown command" in reply
    bogus = teams.activity(
        "mina",
        kind="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "signoff.approve", "data": {"r": 1}}},
    )
    response = await teams.send(bogus)
    body = await response.json()
    assert response.status == 200 and body["statusCode"] == 400
    assert await teams.h.ledger() == []


async def test_serve_mounts_teams_and_refuses_what_is_not_from_teams(tmp_path: Path) -> None:
    keys = KeyServer()
    keys.add("key-1")
    async with TestServer(keys.app()) as key_server:
        keys.base_url = str(key_server.make_url("")).rstrip("/")
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        env = _env(
            tmp_path,
            MICROSOFT_APP_ID=APP_ID,
            MICROSOFT_APP_PASSWORD="client-secret",
            MICROSOFT_APP_TENANT_ID=TENANT,
            TEAMS_OPENID_METADATA_URL=f"{keys.base_url}/openid",
        )
        server = await start_server(tmp_path, "teams", env)
        try:
            assert "Teams: enabled on POST /api/messages" in server.text()
            tokens = Tokens(keys)
            service_url = "https://smba.trafficmanager.net/emea/"
            activity = {
                "type": "message",
                "id": "1",
                "channelId": "msteams",
                "serviceUrl": service_url,
                "conversation": {"id": "a:1", "tenantId": "someone-else"},
                "from": {"id": "29:x"},
                "text": "help",
            }
            async with aiohttp.ClientSession() as http:
                url = f"{server.base}/api/messages"
                async with http.post(url, json=activity) as response:
                    assert response.status == 401
                bearer = {"Authorization": f"Bearer {tokens.make(service_url)}"}
                async with http.post(url, json=activity, headers=bearer) as response:
                    assert response.status == 403  # a verified token, but another tenant
            assert keys.fetches == 1
        finally:
            await server.stop()
