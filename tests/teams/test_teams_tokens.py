"""TEAMS-01..07: the bearer token itself, tried over real HTTP with real RS256 tokens.

Only a well-formed RS256 token, signed by a key the metadata names, from the issuer it names,
for exactly this bot and within its time, lets an activity in. Every refusal is a 401 that
records nothing and calls no Microsoft API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from tests.teams_standin import APP_ID, ISSUER, new_key, signed
from tests.teams_world import TeamsWorld

DEPLOY = "deploy doc-search 4.0"


async def test_teams_01_a_valid_token_is_accepted_and_the_message_handled(
    teams: TeamsWorld,
) -> None:
    replies = await teams.say("soo", DEPLOY)
    assert replies and replies[0].startswith("Request R")
    assert [e.action for e in await teams.h.ledger()] == ["requested"]


@pytest.mark.parametrize(
    "header",
    ["", "Basic c29vOnB3", "Bearer ", "Bearer a b", "Bearer  x", "bearer x", "Bearer not.a.jwt"],
)
async def test_teams_02_missing_or_malformed_authorization(teams: TeamsWorld, header: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = await teams.client.post(
        "/api/messages", json=teams.activity("soo", text=DEPLOY), headers=headers
    )
    assert response.status == 401
    assert await response.json() == {"error": "unauthorized"}
    await teams.nothing_happened()


async def test_teams_03_a_signature_by_another_key_under_our_kid(teams: TeamsWorld) -> None:
    await teams.refused(teams.tokens.make(teams.service_url, key=new_key()))


def _part(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict[str, object]) -> str:
    return f"{_part({'alg': 'none', 'kid': 'key-1'})}.{_part(claims)}."


def _hs256(claims: dict[str, object], secret: bytes) -> str:
    """HS256 with any secret at all: the forger's trick of the public key as an HMAC key."""
    signing_input = f"{_part({'alg': 'HS256', 'kid': 'key-1'})}.{_part(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


async def test_teams_04_only_rs256(teams: TeamsWorld) -> None:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": APP_ID, "exp": now + 600, "serviceurl": teams.service_url}
    await teams.refused(_unsigned(claims))
    key = teams.keys.keys["key-1"][0]
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    await teams.refused(_hs256(claims, public_pem))
    for algorithm in ("RS512", "PS256"):
        await teams.refused(teams.tokens.make(teams.service_url, key=key, algorithm=algorithm))


@pytest.mark.parametrize(
    "issuer",
    [
        "https://sts.windows.net/72f988bf-0000-4000-8000-0000000000aa/",
        "https://login.microsoftonline.com/common/v2.0",
        "https://api.botframework.us",  # another cloud's Bot Connector
        ["https://api.botframework.com"],
        {"iss": "https://api.botframework.com"},
    ],
)
async def test_teams_05_other_issuers(teams: TeamsWorld, issuer: object) -> None:
    now = int(time.time())
    claims = {"iss": issuer, "aud": APP_ID, "exp": now + 600, "serviceurl": teams.service_url}
    await teams.refused(signed(claims, teams.keys.keys["key-1"][0]))


@pytest.mark.parametrize("audience", ["another-bot-app-id", [APP_ID, "theirs"], [APP_ID], 12345])
async def test_teams_06_an_audience_that_is_not_exactly_ours(
    teams: TeamsWorld, audience: object
) -> None:
    await teams.refused(teams.tokens.make(teams.service_url, aud=audience))


async def test_teams_07_five_minutes_of_leeway_and_no_more(teams: TeamsWorld) -> None:
    # Times as fractions of a second, read just before each token: a whole-second `now`
    # could be almost a second stale, and a token then look valid a second too long.
    await teams.refused(teams.tokens.make(teams.service_url, exp=time.time() - 301))
    await teams.refused(teams.tokens.make(teams.service_url, nbf=time.time() + 302))
    await teams.refused(teams.tokens.make(teams.service_url, exp=None))
    response = await teams.send(
        teams.activity("soo", text=DEPLOY),
        token=teams.tokens.make(teams.service_url, exp=time.time() - 290),
    )
    assert response.status in (200, 201, 202)
