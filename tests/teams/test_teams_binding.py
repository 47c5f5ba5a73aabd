"""TEAMS-08, -09, -13: a good token must also be bound to the activity it came with.

The activity must be Teams', at the service URL the token was issued for, signed by a key
endorsed for Teams, in our tenant, and shaped like an activity. Anything else is a 400, 401,
403 or 413 that records nothing and sends nothing, above all not our token to another host.
"""

from __future__ import annotations

import json

import pytest

from tests.teams_world import TeamsWorld

DEPLOY = "deploy doc-search 4.0"


@pytest.mark.parametrize(
    "elsewhere",
    ["https://attacker.example/", "SERVICE.trafficmanager.net.attacker.example", "", None],
)
async def test_teams_08_a_service_url_the_token_was_not_issued_for(
    teams: TeamsWorld, elsewhere: str | None
) -> None:
    if elsewhere and "SERVICE" in elsewhere:
        host = teams.service_url.split("//")[1].rstrip("/")
        elsewhere = f"http://{host}.attacker.example/"
    token = teams.tokens.make(teams.service_url)
    await teams.refused(token, serviceUrl=elsewhere)
    # And the other way round: a token for another service URL, the activity pointing at ours.
    await teams.refused(teams.tokens.make("https://smba.trafficmanager.net/emea/"))


async def test_teams_09_the_key_must_be_endorsed_for_msteams_and_the_channel_be_teams(
    teams: TeamsWorld,
) -> None:
    teams.keys.add("webchat-key", endorsements=["webchat"])
    teams.tokens.kid = "webchat-key"
    await teams.refused(teams.tokens.make(teams.service_url), status=403)
    teams.tokens.kid = "key-1"
    token = teams.tokens.make(teams.service_url)
    await teams.refused(token, status=403, channelId="webchat")
    await teams.refused(token, status=403, channelId="")
    activity = teams.activity("soo", text=DEPLOY)
    del activity["channelId"]
    assert (await teams.send(activity, token=token)).status == 403
    await teams.nothing_happened()


async def test_teams_13_another_tenant_is_refused(teams: TeamsWorld) -> None:
    token = teams.tokens.make(teams.service_url)
    other = {"id": "a:x", "conversationType": "personal", "tenantId": "other-tenant"}
    await teams.refused(
        token, status=403, conversation=other, channelData={"tenant": {"id": "other-tenant"}}
    )
    # Two tenants that disagree, or none at all, are no better.
    await teams.refused(token, status=403, channelData={"tenant": {"id": "other-tenant"}})
    mine = teams.activity("soo")["conversation"]
    await teams.refused(
        token,
        status=403,
        channelData={},
        conversation={k: v for k, v in mine.items() if k != "tenantId"},
    )


async def test_malformed_bodies_are_400_and_oversized_413(teams: TeamsWorld) -> None:
    token = teams.tokens.make(teams.service_url)
    for raw in (b"{", b"[]", b'"text"', b"\xff\xfe", b""):
        response = await teams.send({}, token=token, raw=raw)
        assert response.status == 400, raw
    good = teams.activity("soo", text=DEPLOY)
    conversation = {k: v for k, v in good["conversation"].items() if k != "id"}
    for broken in ({"type": 5}, {"conversation": conversation}, {"from": "soo"}, {"text": 7}):
        response = await teams.send(good | broken, token=token)
        assert response.status == 400, broken
    big = json.dumps(teams.activity("soo", text="x" * 300_000)).encode()
    assert (await teams.send({}, token=token, raw=big)).status == 413
    await teams.nothing_happened()
