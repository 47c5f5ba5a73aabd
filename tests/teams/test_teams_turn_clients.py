"""The SDK's clients for each turn are kept across turns, not built and closed every time.

The SDK's own factory builds a connector client and a user token client, each with a new
HTTP session, for every activity. Counted by identity and by sessions left open, not timed.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import ClaimsIdentity, TurnContext
from microsoft_agents.hosting.core.connector.client import UserTokenClient

from adapters.teams.connections import OneConnection
from adapters.teams.connector import Connector
from adapters.teams.turn_clients import TurnClients
from tests.teams.test_teams_connector import ChangingTokens
from tests.teams_standin import APP_ID, TENANT, BotConnector

BOT_FRAMEWORK = "https://api.botframework.com"


def turn(
    adapter: CloudAdapter, service_url: str, **recipient: Any
) -> tuple[TurnContext, ClaimsIdentity]:
    activity = Activity.model_validate(
        {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "channelId": "msteams",
            "serviceUrl": service_url,
            "from": {"id": "29:mina", "aadObjectId": "mina-object-id"},
            "recipient": {"id": f"28:{APP_ID}", **recipient},
            "conversation": {"id": "a:mina", "tenantId": TENANT},
        }
    )
    # As the route hands it to the SDK: the verified token's claims.
    identity = ClaimsIdentity({"aud": APP_ID, "iss": BOT_FRAMEWORK}, authentication_type="Bearer")
    return TurnContext(adapter, activity, identity), identity


async def test_every_turn_is_lent_the_kept_connector_client() -> None:
    standin = BotConnector()
    tokens = ChangingTokens()
    connector = Connector(tokens)
    connections = OneConnection(tokens)
    clients = TurnClients(connections, connector)
    adapter = CloudAdapter(connection_manager=connections, channel_service_client_factory=clients)
    async with TestServer(standin.app()) as server:
        service_url = str(server.make_url("/"))
        lent = []
        for _ in range(3):
            context, identity = turn(adapter, service_url)
            client = await clients.create_connector_client(
                context, identity, service_url, BOT_FRAMEWORK
            )
            lent.append(client)
            await client.close()  # as the SDK does when the turn ends
        kept = await connector.at(service_url)
        assert all(client.conversations is kept.conversations for client in lent)
        assert not kept.client.closed
        sent = await lent[-1].conversations.send_to_conversation(
            "a:mina", Activity(type="message", text="after three turns")
        )
        assert sent.id
        assert standin.calls[-1].authorization == "Bearer token-1"
        await connector.close()


async def test_one_user_token_client_while_the_token_stays_the_same() -> None:
    tokens = ChangingTokens()
    connections = OneConnection(tokens)
    clients = TurnClients(connections, Connector(tokens))
    adapter = CloudAdapter(connection_manager=connections, channel_service_client_factory=clients)
    context, identity = turn(adapter, "https://smba.trafficmanager.net/amer/")
    first = await clients.create_user_token_client(context, identity)
    await first.close()  # as the SDK does when the turn ends
    assert await clients.create_user_token_client(context, identity) is first
    assert isinstance(first, UserTokenClient) and not first.client.closed
    tokens.token = "token-2"
    second = await clients.create_user_token_client(context, identity)
    assert second is not first
    assert first.client.closed  # the old token's session is let go
    assert isinstance(second, UserTokenClient)
    assert second.client.headers["Authorization"] == "Bearer token-2"
    await clients.close()
    assert second.client.closed


async def test_an_agentic_turn_gets_the_sdks_own_clients() -> None:
    tokens = ChangingTokens()
    connector = Connector(tokens)
    connections = OneConnection(tokens)
    clients = TurnClients(connections, connector)
    adapter = CloudAdapter(connection_manager=connections, channel_service_client_factory=clients)
    context, identity = turn(adapter, "https://smba.trafficmanager.net/amer/", role="connectoruser")
    client = await clients.create_connector_client(
        context, identity, "https://smba.trafficmanager.net/amer/", BOT_FRAMEWORK
    )
    assert connector._clients == {}  # nothing of ours was lent
    await client.close()
