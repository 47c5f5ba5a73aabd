"""Signing keys an issuer publishes, kept and refetched with care; platform-neutral, imports
aiohttp and nothing of ours.

An issuer's OpenID metadata document names its JWKS. The keys are fetched with aiohttp, so a
slow issuer never blocks the event loop, and kept for `keep_for`; a token naming a key we do
not hold earns one refetch, at most one per `min_refetch`, so a stream of made-up key ids
cannot become a stream of fetches. With no keys at all and the issuer down, callers get
`KeysUnavailable` (a 503: retry later), never a verdict on the token. The Bot Connector's
keys (Teams) and the CI forges' ID-token keys (API v1) are both kept this way; each says how
to read its issuer's documents and which keys it takes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp

log = logging.getLogger("signoff.keys")
K = TypeVar("K")


class KeysUnavailable(Exception):
    """The issuer could not be reached (or answered nonsense) and no keys are cached."""


@dataclass(kw_only=True)
class PublishedKeys(Generic[K]):
    """The keys by id; a subclass names its issuer (`owner`, `advice`) and reads them
    (`_fetch`)."""

    clock: Callable[[], float] = time.monotonic
    keep_for: float = 3600
    min_refetch: float = 60
    timeout: float = 10
    _keys: dict[str, K] = field(default_factory=dict)
    _fetched_at: float | None = None
    _missed_at: float | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, kid: str) -> K | None:
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

    def owner(self) -> str:
        """Whose keys these are, for the logs."""
        raise NotImplementedError

    def advice(self) -> str:
        """What an operator checks when none can be had."""
        raise NotImplementedError

    async def _fetch(self, session: aiohttp.ClientSession) -> dict[str, K]:
        raise NotImplementedError

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at > self.keep_for

    def _missing(self, kid: str) -> bool:
        recently = self._missed_at is not None and self.clock() - self._missed_at < self.min_refetch
        return kid not in self._keys and not recently

    async def _refresh(self) -> None:
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                self._keys = await self._fetch(session)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as error:
            if not self._keys:
                log.error(
                    "signing keys of %s unavailable: %s. %s",
                    self.owner(),
                    error,
                    self.advice(),
                )
                raise KeysUnavailable(
                    f"the signing keys of {self.owner()} are unavailable"
                ) from None
            log.warning(
                "refreshing the signing keys of %s failed (%s); keeping the cached keys",
                self.owner(),
                error,
            )
        self._fetched_at = self.clock()


async def document(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The JSON object at `url` (an OpenID metadata document or a JWKS)."""
    async with session.get(url) as response:
        response.raise_for_status()
        found = await response.json(content_type=None)
    if not isinstance(found, dict):
        raise ValueError(f"{url} is not a JSON object")
    return found
