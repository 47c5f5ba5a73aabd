"""One outbound identity for every Teams call: the SDK's `Connections` over one token provider.

Never imports `bot`. Signoff is one bot in one tenant, so every service URL gets the same
provider: MSAL with the app's secret in production, a local provider in tests. The SDK asks
for the public cloud's Bot Framework scope whatever the cloud; here every token it asks for
is for the scope the settings name, so a sovereign cloud's connector accepts the replies.
"""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.authorization import Connections

from adapters.teams.entra import AppOnlyTokens

BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"


def resource_of(scope: str) -> str:
    """`https://api.botframework.us/.default` is a scope of `https://api.botframework.us`."""
    return scope.removesuffix("/.default")


class BotFrameworkTokens(AppOnlyTokens):
    """The provider, asked only ever for the one Bot Framework scope of our cloud."""

    def __init__(self, provider: AccessTokenProviderBase, scope: str) -> None:
        self.provider = provider
        self.scope = scope

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self.provider.configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        return await self.provider.get_access_token(
            resource_of(self.scope), [self.scope], force_refresh
        )

    def get_token_credential(self) -> Any:
        return self.provider.get_token_credential()


class OneConnection(Connections):
    def __init__(self, provider: AccessTokenProviderBase, scope: str = BOT_FRAMEWORK_SCOPE) -> None:
        self.provider: AccessTokenProviderBase = BotFrameworkTokens(provider, scope)

    def get_connection(self, connection_name: str) -> AccessTokenProviderBase:
        return self.provider

    def get_default_connection(self) -> AccessTokenProviderBase:
        return self.provider

    def get_token_provider(
        self, claims_identity: ClaimsIdentity, service_url: str
    ) -> AccessTokenProviderBase:
        return self.provider

    def get_token_provider_from_activity(
        self, claims_identity: ClaimsIdentity, activity: Activity
    ) -> AccessTokenProviderBase:
        return self.provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self.provider.configuration
