"""The Bot Connector's signing keys and token issuer, from its OpenID metadata; no `bot` imports.

The issuer is the one the metadata document names, so a sovereign cloud's metadata URL brings
its own issuer (`https://api.botframework.us`, say) with its keys. Kept by
`adapters/signing_keys.py`: fetched without blocking the event loop (TEAMS-12), kept for a
day, an unknown key id refetching at most once per `min_refetch` (TEAMS-10), and with no keys
and the key server down, `KeysUnavailable` (a 503), never a verdict on the token (TEAMS-11).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

from adapters.signing_keys import KeysUnavailable, PublishedKeys, document

__all__ = ["KeySet", "KeysUnavailable", "SigningKey"]

log = logging.getLogger("signoff.teams")


@dataclass(frozen=True)
class SigningKey:
    key: Any
    endorsements: frozenset[str]


@dataclass
class KeySet(PublishedKeys[SigningKey]):
    metadata_url: str
    issuer: str | None = None  # known once the metadata has been read
    keep_for: float = field(default=24 * 3600, kw_only=True)
    min_refetch: float = field(default=300, kw_only=True)

    def owner(self) -> str:
        return f"the Bot Connector ({self.metadata_url})"

    def advice(self) -> str:
        return (
            "Teams requests get 503 until the key server answers; check "
            "TEAMS_OPENID_METADATA_URL and egress."
        )

    async def _fetch(self, session: aiohttp.ClientSession) -> dict[str, SigningKey]:
        metadata = await document(session, self.metadata_url)
        issuer = metadata["issuer"]
        if not isinstance(issuer, str) or not issuer:
            raise ValueError("the OpenID metadata names no issuer")
        published = await document(session, str(metadata["jwks_uri"]))
        keys: dict[str, SigningKey] = {}
        for entry in published["keys"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                parsed = jwt.PyJWK(entry, algorithm="RS256")
            except jwt.PyJWTError as error:
                log.warning("skipping an unusable Teams signing key %s: %s", entry["kid"], error)
                continue
            endorsements = entry.get("endorsements") or []
            keys[entry["kid"]] = SigningKey(
                parsed.key, frozenset(e for e in endorsements if isinstance(e, str))
            )
        # Read with the keys: the issuer the tokens signed by them must name.
        self.issuer = issuer
        log.info("Teams signing keys loaded: %d, issuer %s", len(keys), issuer)
        return keys
