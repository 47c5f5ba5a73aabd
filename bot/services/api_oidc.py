"""GitHub Actions and GitLab CI ID tokens as API v1 credentials; imports no platform adapter.

A token is accepted when it is an RS256 JWT from one of the two configured issuers, signed by
a key that issuer publishes, meant for Signoff's public URL alone (`aud`, exactly), and current
(`exp`, `nbf`, `iat`, with a minute's leeway for clocks). Which client it is, the policy
says (`workflows.clients.trusted_by`); who started the run (`actor` on GitHub, `user_login`
on GitLab) is the person of record when a person of the policy has that login.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidClaimError, JoseError
from joserfc.jwt import JWTClaimsRegistry

from bot.services.oidc_keys import IssuerKeys
from workflows.clients import ACTOR_CLAIM, Forge, person_of, trusted_by
from workflows.policy import Policy

LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 16 * 1024


class IdentityRefused(Exception):
    """The ID token proves nothing; the message says why (for the caller and the log)."""


@dataclass(frozen=True)
class Issuers:
    """Where ID tokens may come from, and the audience they must name."""

    audience: str | None
    github: str
    gitlab: str


# Without a public URL no token can name this server as its audience: none is accepted.
NO_ID_TOKENS = Issuers(None, "https://token.actions.githubusercontent.com", "https://gitlab.com")


@dataclass(frozen=True)
class Workload:
    """A verified ID token: the policy's client, the forge, and who started the run."""

    client: str
    forge: Forge
    login: str | None
    person: str | None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


class WorkloadIdentity:
    """Verifies ID tokens against their issuer's keys and matches them to the policy."""

    def __init__(
        self, issuers: Issuers, policy: Callable[[], Policy], clock: Callable[[], datetime]
    ) -> None:
        self.audience = issuers.audience.rstrip("/") if issuers.audience else None
        self.forges: dict[str, Forge] = {issuers.github: "github", issuers.gitlab: "gitlab"}
        self.keys = {issuer: IssuerKeys(issuer) for issuer in self.forges}
        self.policy, self.clock = policy, clock

    async def verify(self, token: str) -> Workload:
        """The workload `token` proves; raises `IdentityRefused`, or `KeysUnavailable` when
        the issuer's keys cannot be had (no verdict either way)."""
        header, unverified = _unverified(token)
        issuer = unverified.get("iss")
        forge = self.forges.get(issuer) if isinstance(issuer, str) else None
        if forge is None or not isinstance(issuer, str):
            raise IdentityRefused(f"ID tokens of issuer {issuer!r} are not accepted")
        if self.audience is None:
            raise IdentityRefused(
                "SIGNOFF_PUBLIC_URL is not set, so no ID token can be meant for this server"
            )
        if header.get("alg") != "RS256":
            raise IdentityRefused(f"the token is signed with {header.get('alg')!r}, not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise IdentityRefused("the token names no signing key (kid)")
        key = await self.keys[issuer].get(kid)
        if key is None:
            raise IdentityRefused(f"{issuer} publishes no key {kid!r}")
        try:
            claims = jwt.decode(token, key, algorithms=["RS256"]).claims
        except (JoseError, ValueError) as error:
            raise IdentityRefused(f"the token's signature does not verify ({error})") from None
        self._check_claims(issuer, claims)
        policy = self.policy()
        matched, why = trusted_by(policy.clients, forge, claims)
        if not matched:
            raise IdentityRefused(why)
        if len(matched) > 1:
            raise IdentityRefused(
                f"the token fits several clients ({', '.join(matched)}); the policy must tell "
                "them apart by environments or refs"
            )
        login = claims.get(ACTOR_CLAIM[forge])
        if not isinstance(login, str) or not login:
            login = None
        person = person_of(policy.people, forge, login) if login else None
        return Workload(matched[0], forge, login, person)

    def _check_claims(self, issuer: str, claims: dict[str, Any]) -> None:
        registry = JWTClaimsRegistry(
            now=int(self.clock().timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self.audience or ""},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
            if claims["aud"] not in (self.audience, [self.audience]):
                # Meant for another service as well, which could replay it here.
                raise InvalidClaimError("aud")
        except ExpiredTokenError:
            raise IdentityRefused("the token has expired") from None
        except ClaimError as error:
            if error.claim == "aud":
                given = claims.get("aud")
                meant = f"meant for {given!r}" if given else "meant for no audience"
                raise IdentityRefused(f"the token is {meant}, not {self.audience!r}") from None
            raise IdentityRefused(f"the token's {error.claim}: {error.description}") from None


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and the claims as sent, to choose the issuer; nothing is trusted yet."""
    if len(token) > MAX_TOKEN_CHARS:
        raise IdentityRefused("the token is too long")
    try:
        header, payload, _ = token.split(".")
        parts = [
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in (header, payload)
        ]
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise IdentityRefused("not a Signoff client token, nor an ID token") from None
    if not all(isinstance(part, dict) for part in parts):
        raise IdentityRefused("not a Signoff client token, nor an ID token")
    return parts[0], parts[1]
