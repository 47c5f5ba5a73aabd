"""One outbound identity for every Teams call: the SDK's `Connections` over one token provider.

Never imports `bot`. Signoff is one bot in one tenant, so every service URL gets the same
provider: MSAL with the app's secret in production, a local provider in tests.
"""

from __future__ import annotations

from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import (
    AccessTokenProviderBase,
    AgentAuthConfiguration,
    ClaimsIdentity,
)
from microsoft_agents.hosting.core.authorization import Connections


class OneConnection(Connections):
    def __init__(self, provider: AccessTokenProviderBase) -> None:
        self.provider = provider

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
