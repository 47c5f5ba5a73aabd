"""The Teams connector keeps one HTTP session per service URL and follows the token's changes.

Over real HTTP to the Bot Connector stand-in, which records each call's Authorization header.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import AgentAuthConfiguration

from adapters.teams.connector import Connector
from adapters.teams.entra import AppOnlyTokens
from tests.teams_standin import APP_ID, TENANT, BotConnector


class ChangingTokens(AppOnlyTokens):
    """A token provider whose token the test changes, as MSAL's does when one expires."""

    def __init__(self) -> None:
        self.token = "token-1"

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        return self.token

    def get_token_credential(self) -> Any:
        raise NotImplementedError

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return AgentAuthConfiguration(client_id=APP_ID, tenant_id=TENANT)


async def test_one_session_per_service_url_carrying_the_current_token() -> None:
    standin = BotConnector()
    tokens = ChangingTokens()
    connector = Connector(tokens)
    async with TestServer(standin.app()) as server:
        service_url = str(server.make_url("/"))

        async def send(text: str) -> None:
            client = await connector.at(service_url)
            await client.conversations.send_to_conversation(
                "19:ops", Activity(type="message", text=text)
            )

        first = await connector.at(service_url)
        await send("one")
        await send("two")
        assert await connector.at(service_url) is first  # same token: the same client
        tokens.token = "token-2"
        await send("three")
        renewed = await connector.at(service_url)
        assert renewed is not first
        assert renewed.client is first.client  # the same session, now with the new token

        sent = [(c.body["text"], c.authorization) for c in standin.posts("19:ops")]
        assert sent == [
            ("one", "Bearer token-1"),
            ("two", "Bearer token-1"),
            ("three", "Bearer token-2"),
        ]
        await connector.close()
        assert renewed.client.closed
        assert await connector.at(service_url) is not renewed  # a new session after close
        await connector.close()
