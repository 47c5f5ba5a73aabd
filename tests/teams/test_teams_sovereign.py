"""Sovereign clouds: the authority, the Bot Framework scope and the accepted token issuer come
from the settings and the OpenID metadata, not from the public cloud's names.

The stand-ins play a US Government-like cloud: Entra ID at its own authority, a key server
whose metadata names `https://api.botframework.us`, and tokens asked for that cloud's scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.teams import add_teams_messages, teams_config
from bot.settings import Settings
from tests.entra_standin import EntraStandIn, token_for
from tests.teams_standin import APP_ID, ISSUER, TENANT
from tests.teams_world import GOV_CHANNEL, GOVERNMENT, TeamsWorld, entra_tokens, open_teams_world

DEPLOY = "deploy credit-scoring 2.3.1 to prod -- retrain"


@pytest.fixture
async def teams(engine: AsyncEngine, entra: EntraStandIn) -> AsyncIterator[TeamsWorld]:
    async with open_teams_world(engine, cloud=GOVERNMENT, bot_tokens=entra_tokens(entra)) as world:
        yield world


async def test_teams_in_a_sovereign_cloud_uses_its_authority_scope_and_issuer(
    teams: TeamsWorld, entra: EntraStandIn
) -> None:
    assert teams.keys.issuer == "https://api.botframework.us" != ISSUER
    (reply,) = await teams.say("soo", DEPLOY)
    assert reply.startswith("Request R")
    await teams.h.settle()
    assert teams.card_in(GOV_CHANNEL) and teams.card_in(teams.chat_of("mina"))
    # Every call to the connector, the reply and the relay's cards alike, carried the token
    # this cloud's Entra ID issued for this cloud's Bot Framework, and no other was asked for.
    bearer = f"Bearer {token_for(GOVERNMENT.bot_scope)}"
    assert {c.authorization for c in teams.connector.calls} == {bearer}
    assert set(entra.scopes) == {GOVERNMENT.bot_scope}

    # A token from the public cloud's Bot Connector is not one of this cloud's.
    public = teams.tokens.make(teams.service_url, iss=ISSUER)
    response = await teams.send(teams.activity("soo", text=DEPLOY), token=public)
    assert response.status == 401
    assert [e.action for e in await teams.h.ledger()] == ["requested"]


async def test_metadata_that_names_no_issuer_is_no_key_server_at_all(teams: TeamsWorld) -> None:
    teams.keys.issuer = ""
    response = await teams.send(teams.activity("soo", text=DEPLOY))
    assert response.status == 503
    assert await teams.h.ledger() == [] and teams.connector.calls == []


async def test_graph_tokens_are_for_the_graph_of_graph_api_url(
    teams: TeamsWorld, entra: EntraStandIn
) -> None:
    await teams.say("soo", "incident credit-scoring sev2 scores drift after retrain")
    await teams.h.settle()
    assert teams.graph.calls
    graph = teams.graph.calls[0].path  # the stand-in's own address is this cloud's Graph
    assert graph.startswith("/v1.0/")
    graph_scopes = [s for s in entra.scopes if s != GOVERNMENT.bot_scope]
    assert len(set(graph_scopes)) == 1 and graph_scopes[0].startswith("http://127.0.0.1:")
    bearer = f"Bearer {token_for(graph_scopes[0])}"
    assert {c.authorization for c in teams.graph.calls} == {bearer}


async def test_the_cloud_settings_reach_the_token_provider_and_the_token_check(
    teams: TeamsWorld,
) -> None:
    settings = Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password=SecretStr("secret"),
        microsoft_app_tenant_id=TENANT,
        microsoft_authority_host="https://login.microsoftonline.us/",
        microsoft_bot_scope="https://api.botframework.us/.default",
        teams_openid_metadata_url="https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
        graph_api_url="https://graph.microsoft.us/v1.0/",
    )
    config = teams_config(settings)
    assert f"https://login.microsoftonline.us/{TENANT}" == config.tokens.configuration.AUTHORITY
    assert config.connector.scope == config.bot_scope == "https://api.botframework.us/.default"
    endpoint = add_teams_messages(web.Application(), config, teams.h.runtime(), teams.h.clock)
    assert endpoint.check.keys.metadata_url == settings.teams_openid_metadata_url
