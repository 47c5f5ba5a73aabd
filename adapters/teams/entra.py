"""The bot's own tokens from Microsoft Entra ID (MSAL client credentials); never imports `bot`.

The Agents SDK's `MsalAuth` asks the public cloud to vouch for any authority it does not
know and waits on the identity provider without a time limit; this provider takes the
authority host from the settings (a sovereign cloud's, or a local stand-in's), bounds every
call, and turns any failure into `TokenUnavailable`: the caller answers 503 or retries later,
never treats it as a refusal of the person or the message.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import msal
from microsoft_agents.hosting.core import AccessTokenProviderBase, AgentAuthConfiguration
from microsoft_agents.hosting.core.authorization import AuthTypes

TIMEOUT_SECONDS = 10.0
# MSAL takes a cached token for expired this long before it expires, and fetches another.
MSAL_EXPIRY_MARGIN = 5 * 60


class TokenUnavailable(Exception):
    """Entra ID could not be reached, or would not issue the bot a token."""


class AppOnlyTokens(AccessTokenProviderBase):
    """A provider of the bot's own tokens: no sign-in on a person's behalf, no agentic ids."""

    async def close(self) -> None:
        """Let go of connections kept for the next token; nothing to do unless overridden."""

    async def acquire_token_on_behalf_of(self, scopes: list[str], user_assertion: str) -> str:
        raise NotImplementedError("Signoff offers no sign-in")

    async def get_agentic_application_token(
        self, tenant_id: str, agent_app_instance_id: str
    ) -> str | None:
        raise NotImplementedError("Signoff has no agentic identity")

    async def get_agentic_instance_token(
        self, tenant_id: str, agent_app_instance_id: str
    ) -> tuple[str, str]:
        raise NotImplementedError("Signoff has no agentic identity")

    async def get_agentic_user_token(
        self, tenant_id: str, agent_app_instance_id: str, agentic_user_id: str, scopes: list[str]
    ) -> str | None:
        raise NotImplementedError("Signoff has no agentic identity")


class EntraTokens(AppOnlyTokens):
    """Tokens of one app registration in one tenant."""

    def __init__(
        self,
        client_id: str,
        tenant_id: str,
        secret: str,
        authority_host: str,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._configuration = AgentAuthConfiguration(
            auth_type=AuthTypes.client_secret,
            client_id=client_id,
            tenant_id=tenant_id,
            client_secret=secret,
            authority=self.authority,
        )
        self._secret = secret
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()
        # Scopes -> (token, until): what MSAL's cache would answer until then, without a
        # thread and MSAL's search of its cache for each of a click's half-dozen requests.
        self._held: dict[tuple[str, ...], tuple[str, float]] = {}

    @property
    def configuration(self) -> AgentAuthConfiguration:
        return self._configuration

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        """A token for `scopes`; MSAL keeps it until shortly before it expires."""
        key = tuple(scopes)
        held = self._held.get(key)
        if held is not None and time.time() < held[1]:
            return held[0]
        asked_at = time.time()
        # MSAL is synchronous; a thread keeps a slow identity provider off the event loop.
        token, until = await asyncio.to_thread(self._acquire, list(scopes), asked_at)
        if until is not None and self._app is not None:  # not once closed meanwhile
            self._held[key] = (token, until)
        return token

    def get_token_credential(self) -> Any:
        raise NotImplementedError("Signoff uses no Azure SDK client")

    async def close(self) -> None:
        self._held.clear()
        with self._lock:
            app, self._app = self._app, None
        if app is not None:
            await asyncio.to_thread(app.http_client.close)

    def _acquire(self, scopes: list[str], asked_at: float) -> tuple[str, float | None]:
        """The token, and until when MSAL's cache would give the same one (None: ask MSAL)."""
        try:
            result = self._application().acquire_token_for_client(scopes=scopes)
        except Exception as error:  # requests', MSAL's and JSON's errors alike: no token now
            raise TokenUnavailable(f"{type(error).__name__}: {error}") from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not isinstance(token, str) or not token:
            why = result.get("error") if isinstance(result, dict) else None
            raise TokenUnavailable(f"Entra ID issued no token for {scopes} ({why or 'no answer'})")
        return token, _cached_until(result, asked_at)

    def _application(self) -> msal.ConfidentialClientApplication:
        # Made on first use, in the worker thread: MSAL reads the authority's metadata as it
        # starts, and a failure then must be retried on the next call, not remembered.
        with self._lock:
            if self._app is None:
                self._app = msal.ConfidentialClientApplication(
                    self._configuration.CLIENT_ID,
                    client_credential=self._secret,
                    authority=self.authority,
                    # The authority is the operator's setting; asking the public cloud to
                    # vouch for it fails where only a sovereign cloud is reachable.
                    instance_discovery=False,
                    timeout=self._timeout,
                )
            return self._app


def _cached_until(result: dict[str, Any], asked_at: float) -> float | None:
    """Until when MSAL would answer from its cache as it just did, or None if it did not.

    MSAL hands out a cached token while it has at least five minutes left and has not
    reached the `refresh_on` it was given; past either, it asks Entra ID. Only a token MSAL
    took from its cache says so; a new one is asked of MSAL once more first.
    """
    if result.get("token_source") != "cache":
        return None
    expires_in = result.get("expires_in")
    if not isinstance(expires_in, int):
        return None
    # `expires_in` was counted from a moment after `asked_at`: this errs early.
    until = asked_at + expires_in - MSAL_EXPIRY_MARGIN
    refresh_on = result.get("refresh_on")
    if isinstance(refresh_on, int | float):
        until = min(until, float(refresh_on))
    return until
