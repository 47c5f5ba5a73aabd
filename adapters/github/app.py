"""The GitHub App as a client: its JWT, and installation tokens kept until near their end.

Imports aiohttp, PyJWT and the delivery errors of `adapters.port`; never `bot`. The App
proves itself with a JWT signed by its private key (RS256, issued by its App id, good for
ten minutes at most) and trades it for an installation token, which it keeps until shortly
before it expires. Answers are judged as the outbox expects: 2xx done; 429 (or 403 with the
rate limit spent) waits; 5xx, 408 and timeouts are tried again; any other is permanent.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import jwt

from adapters.port import PermanentFailure, RateLimited, TemporaryFailure

API_VERSION = "2022-11-28"
# GitHub refuses a JWT whose `exp` is more than ten minutes ahead; its clock may run early.
JWT_LIFETIME = 540
CLOCK_DRIFT = 60
# An installation token lives an hour; one closer than this to its end is replaced.
TOKEN_MARGIN = 300.0
TIMEOUT_SECONDS = 10.0


@dataclass
class _Token:
    value: str
    expires_at: float


@dataclass
class GitHubApp:
    app_id: str
    private_key: str
    api_url: str
    clock: Callable[[], float] = time.time
    timeout: float = TIMEOUT_SECONDS
    # The certificates trusted for GITHUB_API_URL: the system's unless given.
    tls: ssl.SSLContext | None = None
    _tokens: dict[int, _Token] = field(default_factory=dict)
    # One exchange at a time, so reviews sent together share the token the first one gets.
    _exchange: asyncio.Lock = field(default_factory=asyncio.Lock)
    _session: aiohttp.ClientSession | None = None

    def headers(self, bearer: str) -> dict[str, str]:
        """What every call to GitHub's REST API carries."""
        return {
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "signoff",
        }

    def app_jwt(self) -> str:
        """A JWT that authenticates as the App itself."""
        now = int(self.clock())
        claims = {"iat": now - CLOCK_DRIFT, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    async def installation_token(self, installation_id: int) -> str:
        """A token for one installation, from the cache while it has time left."""
        async with self._exchange:
            held = self._tokens.get(installation_id)
            if held is not None and held.expires_at - self.clock() > TOKEN_MARGIN:
                return held.value
            return await self._exchange_jwt(installation_id)

    def forget(self, installation_id: int, token: str) -> None:
        """Drop `token` from the cache, as GitHub refused it (revoked, or ended early); a
        newer token another review already fetched is kept."""
        held = self._tokens.get(installation_id)
        if held is not None and held.value == token:
            del self._tokens[installation_id]

    async def _exchange_jwt(self, installation_id: int) -> str:
        url = f"{self.api_url.rstrip('/')}/app/installations/{installation_id}/access_tokens"
        status, headers, body = await self._post(url, self.app_jwt())
        _judge(status, headers, "access token")
        token, expires = body.get("token"), body.get("expires_at")
        if not isinstance(token, str) or not isinstance(expires, str):
            raise TemporaryFailure("GitHub's access token answer had no token or expires_at")
        try:
            ends = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise TemporaryFailure(f"GitHub's token expiry {expires!r} is not a time") from None
        self._tokens[installation_id] = _Token(token, ends)
        return token

    async def _post(self, url: str, bearer: str) -> tuple[int, Mapping[str, str], dict[str, Any]]:
        try:
            async with self.session().post(
                url, headers=self.headers(bearer), allow_redirects=False
            ) as answer:
                data: Any = {}
                if answer.content_type == "application/json":
                    data = await answer.json()
                return answer.status, answer.headers, data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            # No proxy from the environment: tokens go only where GITHUB_API_URL says.
            connector = aiohttp.TCPConnector(ssl=self.tls or True)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=timeout, trust_env=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _judge(status: int, headers: Mapping[str, str], what: str) -> None:
    if 200 <= status < 300:
        return
    remaining = headers.get("X-RateLimit-Remaining")
    if status == 429 or (status == 403 and remaining == "0"):
        raise RateLimited(_retry_after(headers), f"GitHub {what}: HTTP {status}")
    if status >= 500 or status == 408:
        raise TemporaryFailure(f"GitHub {what}: HTTP {status}")
    raise PermanentFailure(f"GitHub {what}: HTTP {status}")


def _retry_after(headers: Mapping[str, str]) -> float:
    """GitHub says when to come back by Retry-After, or by when its rate limit resets."""
    try:
        return min(max(float(headers.get("Retry-After", "")), 0.0), 3600.0)
    except ValueError:
        pass
    try:
        return min(max(float(headers.get("X-RateLimit-Reset", "")) - time.time(), 0.0), 3600.0)
    except ValueError:
        return 60.0
