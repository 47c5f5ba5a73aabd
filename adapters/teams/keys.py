"""The Bot Connector's signing keys and token issuer, from its OpenID metadata; no `bot` imports.

The issuer is the one the metadata document names, so a sovereign cloud's metadata URL brings
its own issuer (`https://api.botframework.us`, say) with its keys.

Fetched with aiohttp so a slow key server never blocks the event loop (TEAMS-12). Keys are
kept for a day; a token naming a key we do not hold triggers a refetch, at most one per
`min_refetch` (TEAMS-10). With no keys at all and the key server down, callers get
`KeysUnavailable` (a 503: retry later), never a verdict on the token (TEAMS-11).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

log = logging.getLogger("signoff.teams")


class KeysUnavailable(Exception):
    """The key server could not be reached and no keys are cached."""


@dataclass(frozen=True)
class SigningKey:
    key: Any
    endorsements: frozenset[str]


@dataclass
class KeySet:
    metadata_url: str
    clock: Callable[[], float] = time.monotonic
    keep_for: float = 24 * 3600
    min_refetch: float = 300
    timeout: float = 10
    issuer: str | None = None  # known once the metadata has been read
    _keys: dict[str, SigningKey] = field(default_factory=dict)
    _fetched_at: float | None = None
    _missed_at: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, kid: str) -> SigningKey | None:
        """The key named `kid`, or None when the key server does not know it either."""
        if self._stale() or self._missing(kid):
            async with self._lock:
                if self._stale():
                    await self._refresh()
                elif self._missing(kid):
                    # Microsoft rolls keys; an unknown kid earns one refetch, but a stream of
                    # made-up kids must not turn into a stream of fetches.
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
            self.issuer, self._keys = await self._fetch()
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as error:
            if not self._keys:
                log.error(
                    "Teams signing keys unavailable from %s: %s. Teams requests get 503 until "
                    "the key server answers; check TEAMS_OPENID_METADATA_URL and egress.",
                    self.metadata_url,
                    error,
                )
                raise KeysUnavailable(str(error)) from None
            log.warning("Teams signing keys refresh failed (%s); keeping the cached keys", error)
        self._fetched_at = self.clock()

    async def _fetch(self) -> tuple[str, dict[str, SigningKey]]:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(self.metadata_url) as response:
                response.raise_for_status()
                metadata = await response.json(content_type=None)
            issuer = metadata["issuer"]
            if not isinstance(issuer, str) or not issuer:
                raise ValueError("the OpenID metadata names no issuer")
            async with session.get(str(metadata["jwks_uri"])) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
        keys: dict[str, SigningKey] = {}
        for entry in document["keys"]:
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
        log.info("Teams signing keys loaded: %d, issuer %s", len(keys), issuer)
        return issuer, keys
