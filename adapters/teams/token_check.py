"""Checks the Bot Connector's bearer token against the activity it came with; no `bot` imports.

The SDK leaves issuer pinning, the channel endorsement, the serviceUrl binding and the tenant
allow-list to the host, so we enforce them here, before the SDK sees the activity: RS256 only,
the issuer the OpenID metadata names (`https://api.botframework.com` in the public cloud),
audience exactly our app id, five minutes of leeway, the key endorsed for `msteams`, the
token's `serviceurl` equal to the activity's, and the tenant on the allow-list (TEAMS-01..13).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from adapters.teams.keys import KeySet

CHANNEL = "msteams"
LEEWAY_SECONDS = 300


class Refused(Exception):
    """The request is not from Teams for us: 401 (who are you) or 403 (not allowed here)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class TokenCheck:
    keys: KeySet
    app_id: str
    tenants: Collection[str]

    async def claims(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of the `Authorization` header, or `Refused(401)`."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused(401, "unreadable token") from None
        if header.get("alg") != "RS256":
            raise Refused(401, f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Refused(401, "token names no key")
        key = await self.keys.get(kid)
        if key is None:
            raise Refused(401, f"unknown signing key {kid!r}")
        assert self.keys.issuer is not None  # read with the keys
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.keys.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"], "verify_nbf": True},
            )
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            raise Refused(401, f"token rejected: {error}") from None
        if claims.get("aud") != self.app_id:
            raise Refused(401, "audience is not exactly this bot")
        if CHANNEL not in key.endorsements:
            raise Refused(403, "signing key is not endorsed for msteams")
        return claims

    def bind(self, claims: dict[str, Any], activity: dict[str, Any]) -> None:
        """The activity must be Teams', at the service URL the token names, in our tenant."""
        if activity.get("channelId") != CHANNEL:
            raise Refused(403, "not a Microsoft Teams activity")
        claimed = claims.get("serviceurl")
        given = activity.get("serviceUrl")
        if not isinstance(claimed, str) or not isinstance(given, str):
            raise Refused(401, "the token or the activity names no service URL")
        if _normal_url(claimed) != _normal_url(given):
            raise Refused(401, "the activity's serviceUrl is not the one the token was issued for")
        tenant = tenant_of(activity)
        if tenant not in self.tenants:
            raise Refused(403, f"tenant {tenant!r} is not allowed")


def tenant_of(activity: dict[str, Any]) -> str | None:
    """`conversation.tenantId`, else `channelData.tenant.id`; they must agree when both exist."""
    conversation = activity.get("conversation")
    channel_data = activity.get("channelData")
    from_conversation = conversation.get("tenantId") if isinstance(conversation, dict) else None
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    from_data = tenant.get("id") if isinstance(tenant, dict) else None
    if from_conversation and from_data and from_conversation != from_data:
        return None
    found = from_conversation or from_data
    return found if isinstance(found, str) else None


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme != "Bearer" or not token or " " in token.strip() or token != token.strip():
        raise Refused(401, "no bearer token")
    return token


def _normal_url(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.strip())
    return parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/")
