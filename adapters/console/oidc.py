"""Sign-in with OpenID Connect for the console: the authorization code flow with PKCE, state
and nonce, for any issuer (Microsoft Entra ID, Sign in with Slack, others).

Authlib builds the authorization and token requests; PyJWT checks the ID token's signature
against the issuer's published keys and its claims (issuer, audience, expiry, nonce). Imports
no `bot`; who the signed-in account is in the policy is decided by the shell.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
TIMEOUT = aiohttp.ClientTimeout(total=10)
# How long the issuer's metadata and keys are trusted before they are fetched again.
REFRESH_SECONDS = 3600.0


class SignInFailed(Exception):
    """The sign-in cannot be completed; the message is safe to show the person."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid email profile"


class OidcClient:
    """One issuer's sign-in: where to send the browser, and the ID token the code buys."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._fetched = 0.0

    async def _get_json(self, http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        try:
            async with http.get(url, timeout=TIMEOUT) as response:
                if response.status != 200:
                    raise SignInFailed(f"the identity provider answered {response.status}")
                found: dict[str, Any] = await response.json(content_type=None)
                return found
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise SignInFailed(f"the identity provider could not be reached: {error}") from None

    async def metadata(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._fetched > REFRESH_SECONDS:
            issuer = self.config.issuer.rstrip("/")
            found = await self._get_json(http, f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer", "").rstrip("/") != issuer:
                raise SignInFailed("the identity provider's metadata names another issuer")
            self._metadata, self._keys, self._fetched = found, None, time.monotonic()
        return self._metadata

    async def begin(self, http: aiohttp.ClientSession) -> tuple[str, dict[str, str]]:
        """The authorization URL, and what the callback must find again (kept in the session)."""
        metadata = await self.metadata(http)
        login = {
            "state": generate_token(32),
            "nonce": generate_token(32),
            "verifier": generate_token(64),
        }
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.config.client_id,
            "code",
            redirect_uri=self.config.redirect_uri,
            scope=self.config.scope,
            state=login["state"],
            nonce=login["nonce"],
            code_challenge=create_s256_code_challenge(login["verifier"]),
            code_challenge_method="S256",
        )
        return url, login

    async def finish(
        self, http: aiohttp.ClientSession, query: dict[str, str], login: dict[str, str]
    ) -> dict[str, Any]:
        """The ID token's verified claims, once the callback's state matches the session's."""
        if "error" in query:
            raise SignInFailed(f"the identity provider refused: {query['error'][:100]}")
        state, code = query.get("state", ""), query.get("code", "")
        if not login.get("state") or not hmac.compare_digest(state, login["state"]):
            raise SignInFailed("this sign-in did not start here, or it started in another tab")
        if not code:
            raise SignInFailed("the identity provider sent no code")
        metadata = await self.metadata(http)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "code_verifier": login["verifier"],
        }
        try:
            async with http.post(
                metadata["token_endpoint"], data=form, timeout=TIMEOUT
            ) as response:
                body = await response.json(content_type=None)
                if response.status != 200 or "id_token" not in body:
                    raise SignInFailed("the identity provider did not exchange the code")
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise SignInFailed(f"the identity provider could not be reached: {error}") from None
        return await self._verified(http, str(body["id_token"]), login["nonce"])

    async def _verified(
        self, http: aiohttp.ClientSession, token: str, nonce: str
    ) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise SignInFailed("the ID token is malformed") from None
        key = await self._key(http, kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.config.client_id,
                issuer=(await self.metadata(http))["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=60,
            )
        except jwt.PyJWTError as error:
            raise SignInFailed(f"the ID token was refused: {error}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise SignInFailed("the ID token was not issued for this sign-in (nonce)")
        return claims

    async def _key(self, http: aiohttp.ClientSession, kid: str | None) -> Any:
        """The issuer's signing key `kid`; the keys are fetched again once for an unknown one,
        since issuers rotate them."""
        for attempt in range(2):
            if self._keys is None or attempt:
                metadata = await self.metadata(http)
                found = await self._get_json(http, metadata["jwks_uri"])
                self._keys = {k.get("kid"): k for k in found.get("keys", [])}
            if kid in self._keys:
                try:
                    return jwt.PyJWK(self._keys[kid]).key
                except jwt.PyJWTError:
                    raise SignInFailed("the identity provider's key cannot be used") from None
        raise SignInFailed("the ID token is signed with a key the identity provider does not list")
