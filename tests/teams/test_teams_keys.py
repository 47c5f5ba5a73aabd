"""TEAMS-10..12: the signing keys, read from the OpenID metadata the settings name.

A key Microsoft rolled is found by one refetch, a made-up one costs no more fetches; a key
server that is down is a 503 while no keys are known and no matter once they are; fetching
never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import time

from tests.teams_standin import APP_ID, ISSUER, signed
from tests.teams_world import TeamsWorld


def _token_with_kid(teams: TeamsWorld, kid: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "exp": now + 600, "serviceurl": teams.service_url}
    return signed(claims, teams.keys.keys["key-1"][0], kid)


async def test_teams_10_an_unknown_kid_refetches_the_keys_once(teams: TeamsWorld) -> None:
    await teams.say("soo", "help")
    fetched = teams.keys.fetches
    # A key Microsoft rolled in since our last fetch: found by one refetch.
    teams.keys.add("rolled-key")
    teams.tokens.kid = "rolled-key"
    await teams.say("soo", "help")
    assert teams.keys.fetches == fetched + 1
    # A kid nobody knows: one more fetch would be allowed only after five minutes.
    for _ in range(3):
        response = await teams.send(
            teams.activity("soo", text="help"), token=_token_with_kid(teams, "nobody-knows")
        )
        assert response.status == 401
    assert teams.keys.fetches == fetched + 1


async def test_teams_11_key_server_down_cold_is_503_warm_keeps_working(
    teams: TeamsWorld,
) -> None:
    teams.keys.failing = True
    response = await teams.send(teams.activity("soo", text="deploy doc-search 4.0"))
    assert response.status == 503
    await teams.nothing_happened()
    teams.keys.failing = False
    assert await teams.say("soo", "help")
    teams.keys.failing = True
    assert await teams.say("soo", "help")


async def test_teams_12_fetching_keys_does_not_block_the_event_loop(teams: TeamsWorld) -> None:
    teams.keys.delay = 2.0

    async def health_while_fetching() -> float:
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        async with teams.client.session.get(teams.keys.base_url + "/openid") as response:
            assert response.status == 200
        return time.perf_counter() - started

    slow = asyncio.create_task(teams.send(teams.activity("soo", text="help")))
    elapsed = await health_while_fetching()
    assert not slow.done()
    assert elapsed < 1.0
    assert (await slow).status in (200, 201, 202)
