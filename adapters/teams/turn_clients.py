"""The clients the Agents SDK gives each inbound turn, kept across turns; no `bot` imports.

For every activity the SDK's own factory builds a connector client and a user token client,
each with a new HTTP session (and the SDK's version read from the installed packages'
metadata), and closes both when the turn ends. Ours lends the turn the connector client our
`Connector` keeps for the service URL, with the same token, and one user token client kept
while the token stays the same; the turn's end does not close them, `close` does. Agentic,
anonymous and Copilot Studio turns, which Signoff does not expect, get the SDK's own.
"""

from __future__ import annotations

from microsoft_agents.activity import RoleTypes
from microsoft_agents.hosting.core import (
    ChannelServiceClientFactoryBase,
    ClaimsIdentity,
    TurnContext,
)
from microsoft_agents.hosting.core.authorization import AuthenticationConstants, Connections
from microsoft_agents.hosting.core.connector import ConnectorClientBase, UserTokenClientBase
from microsoft_agents.hosting.core.connector.attachments_base import AttachmentsBase
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.connector.conversations_base import ConversationsBase
from microsoft_agents.hosting.core.rest_channel_service_client_factory import (
    RestChannelServiceClientFactory,
)

from adapters.teams.connector import Connector

TOKEN_SERVICE = AuthenticationConstants.AGENTS_SDK_OAUTH_URL
TOKEN_SERVICE_AUDIENCE = AuthenticationConstants.AGENTS_SDK_SCOPE


class _Lent(ConnectorClientBase):
    """A kept connector client as one turn sees it: the turn's end does not close it."""

    def __init__(self, client: ConnectorClientBase) -> None:
        self._client = client

    @property
    def base_uri(self) -> str:
        return self._client.base_uri

    @property
    def attachments(self) -> AttachmentsBase:
        return self._client.attachments

    @property
    def conversations(self) -> ConversationsBase:
        return self._client.conversations

    async def close(self) -> None:
        """Kept for the next turn; `TurnClients.close` ends it."""


class _KeptUserTokenClient(UserTokenClient):
    async def close(self) -> None:
        """Kept for the next turn; `TurnClients.close` ends it."""

    async def end(self) -> None:
        await super().close()


class TurnClients(ChannelServiceClientFactoryBase):
    def __init__(self, connections: Connections, connector: Connector) -> None:
        self.connections = connections
        self.connector = connector
        self.sdk = RestChannelServiceClientFactory(
            connections, TOKEN_SERVICE, TOKEN_SERVICE_AUDIENCE
        )
        self._user_tokens: tuple[tuple[str | None, str], _KeptUserTokenClient] | None = None

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> ConnectorClientBase:
        if use_anonymous or not service_url or not audience or _unusual(context):
            return await self.sdk.create_connector_client(
                context, claims_identity, service_url, audience, scopes, use_anonymous
            )
        # The connector's token is the one the SDK would ask for: every provider of
        # `OneConnection` gives the bot's token for the one Bot Framework scope.
        return _Lent(await self.connector.at(service_url))

    async def create_user_token_client(
        self,
        context: TurnContext,
        claims_identity: ClaimsIdentity,
        use_anonymous: bool = False,
    ) -> UserTokenClientBase:
        if use_anonymous or _unusual(context):
            return await self.sdk.create_user_token_client(context, claims_identity, use_anonymous)
        provider = self.connections.get_token_provider(claims_identity, TOKEN_SERVICE)
        token = await provider.get_access_token(
            TOKEN_SERVICE_AUDIENCE, claims_identity.get_token_scope()
        )
        if not token:
            raise ValueError("Failed to obtain token for user token client")
        key = (claims_identity.get_app_id(), token)
        kept = self._user_tokens
        if kept is not None and kept[0] == key:
            return kept[1]
        client = _KeptUserTokenClient(app_id=key[0], endpoint=TOKEN_SERVICE, token=token)
        self._user_tokens = (key, client)
        if kept is not None:
            await kept[1].end()
        return client

    async def close(self) -> None:
        kept, self._user_tokens = self._user_tokens, None
        if kept is not None:
            await kept[1].end()


def _unusual(context: TurnContext | None) -> bool:
    """A turn the SDK's factory treats apart: an agentic identity, or Copilot Studio's."""
    if context is None:
        return False
    activity = context.activity
    return activity.is_agentic_request() or bool(
        activity.recipient and activity.recipient.role == RoleTypes.connector_user
    )
