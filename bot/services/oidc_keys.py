"""An OpenID issuer's signing keys (a CI forge's, for its ID tokens); no platform adapter.

The keys of `<issuer>/.well-known/openid-configuration`'s `jwks_uri`, RSA signing keys only,
kept for an hour with one refetch a minute at most for an unknown key id
(`adapters/signing_keys.py` keeps them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from adapters.signing_keys import KeysUnavailable, PublishedKeys, document

__all__ = ["DISCOVERY", "IssuerKeys", "KeysUnavailable"]

log = logging.getLogger("signoff.api")

DISCOVERY = "/.well-known/openid-configuration"


@dataclass
class IssuerKeys(PublishedKeys[RSAKey]):
    issuer: str

    def owner(self) -> str:
        return self.issuer

    def advice(self) -> str:
        return "Its ID tokens get 503 until it answers; check the issuer setting and egress."

    async def _fetch(self, session: aiohttp.ClientSession) -> dict[str, RSAKey]:
        metadata = await document(session, self.issuer.rstrip("/") + DISCOVERY)
        # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it is for.
        if metadata.get("issuer") != self.issuer:
            raise ValueError(f"the discovery document names issuer {metadata.get('issuer')!r}")
        published = await document(session, str(metadata["jwks_uri"]))
        keys: dict[str, RSAKey] = {}
        for entry in published["keys"]:
            if not _signing_rsa(entry):
                continue
            try:
                keys[entry["kid"]] = RSAKey.import_key(entry)
            except (JoseError, ValueError, TypeError) as error:
                log.warning(
                    "skipping an unusable key %s of %s: %s", entry["kid"], self.issuer, error
                )
        log.info("signing keys of %s loaded: %d", self.issuer, len(keys))
        return keys


def _signing_rsa(entry: object) -> bool:
    """An RSA key meant for signatures with RS256 (or not saying), with a key id."""
    return (
        isinstance(entry, dict)
        and entry.get("kty") == "RSA"
        and isinstance(entry.get("kid"), str)
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256") == "RS256"
    )
