"""The Bot Connector client for each service URL, with the current token; no `bot` imports."""

from __future__ import annotations

from dataclasses import dataclass, field

from microsoft_agents.hosting.core import AccessTokenProviderBase
from microsoft_agents.hosting.core.connector.client import ConnectorClient

from adapters.teams.connections import BOT_FRAMEWORK_SCOPE, resource_of


@dataclass
class Connector:
    """The SDK's connector client for a service URL, with the bot's current token.

    One HTTP session per service URL for the life of the process (`close` ends them): the
    SDK's default is a new session, connection and handshake for every call. A client is
    made again only when the token changes.
    """

    tokens: AccessTokenProviderBase
    scope: str = BOT_FRAMEWORK_SCOPE  # the Bot Framework of our cloud
    _clients: dict[str, tuple[str, ConnectorClient]] = field(default_factory=dict)

    async def at(self, service_url: str) -> ConnectorClient:
        token = await self.tokens.get_access_token(resource_of(self.scope), [self.scope])
        known = self._clients.get(service_url)
        if known is not None and known[0] == token:
            return known[1]
        session = known[1].client if known is not None else None
        # The client sets the token on the session's headers, so the old one stops at once.
        client = ConnectorClient(endpoint=service_url, token=token, session=session)
        self._clients[service_url] = (token, client)
        return client

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for _, client in clients.values():
            await client.close()
