"""An OpenID issuer's signing keys, from its discovery document and JWKS; no platform adapter.

The keys of `<issuer>/.well-known/openid-configuration`'s `jwks_uri`, RSA signing keys only,
fetched with aiohttp so a slow issuer never blocks the event loop. They are kept for an hour;
a token naming a key we do not hold earns one refetch, at most one a minute, so a stream of
made-up key ids cannot become a stream of fetches. With no keys at all and the issuer down,
callers get `KeysUnavailable` (a 503: retry later), never a verdict on the token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

log = logging.getLogger("signoff.api")

DISCOVERY = "/.well-known/openid-configuration"


class KeysUnavailable(Exception):
    """The issuer could not be reached (or answered nonsense) and no keys are cached."""


@dataclass
class IssuerKeys:
    issuer: str
    clock: Callable[[], float] = time.monotonic
    keep_for: float = 3600
    min_refetch: float = 60
    timeout: float = 10
    _keys: dict[str, RSAKey] = field(default_factory=dict)
    _fetched_at: float | None = None
    _missed_at: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, kid: str) -> RSAKey | None:
        """The key named `kid`, or None when the issuer does not publish it either."""
        if self._stale() or self._missing(kid):
            async with self._lock:
                if self._stale():
                    await self._refresh()
                elif self._missing(kid):
                    # Issuers roll their keys: an unknown kid earns one refetch.
                    self._missed_at = self.clock()
                    await self._refresh()
        return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at > self.keep_for

    def _missing(self, kid: str) -> bool:
        recently = self._missed_at is not None and self.clock() - self._missed_at < self.min_refetch
        return kid not in self._keys and not recently

    async def _refresh(self) -> None:
        try:
            self._keys = await self._fetch()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as error:
            if not self._keys:
                log.error(
                    "signing keys of %s unavailable: %s; its ID tokens get 503 until it "
                    "answers (check the issuer setting and egress)",
                    self.issuer,
                    error,
                )
                raise KeysUnavailable(f"the keys of {self.issuer} are unavailable") from None
            log.warning(
                "refreshing the keys of %s failed (%s); keeping the cached keys", self.issuer, error
            )
        self._fetched_at = self.clock()

    async def _fetch(self) -> dict[str, RSAKey]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            metadata = await _document(session, self.issuer.rstrip("/") + DISCOVERY)
            # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it is for.
            if metadata.get("issuer") != self.issuer:
                raise ValueError(f"the discovery document names issuer {metadata.get('issuer')!r}")
            document = await _document(session, str(metadata["jwks_uri"]))
        keys: dict[str, RSAKey] = {}
        for entry in document["keys"]:
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


async def _document(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with session.get(url) as response:
        response.raise_for_status()
        document = await response.json(content_type=None)
    if not isinstance(document, dict):
        raise ValueError(f"{url} is not a JSON object")
    return document


def _signing_rsa(entry: object) -> bool:
    """An RSA key meant for signatures with RS256 (or not saying), with a key id."""
    return (
        isinstance(entry, dict)
        and entry.get("kty") == "RSA"
        and isinstance(entry.get("kid"), str)
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256") == "RS256"
    )
