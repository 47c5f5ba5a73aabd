"""Outbound HTTP POSTs from the outbox (callbacks, later others): one sender for every kind.

Imports aiohttp and the delivery errors of `adapters.port`; never services. A kind of message
turns into an `OutboundPost` through its own preparer (which signs it as that kind needs); the
sender only posts: over HTTPS, no redirects, no proxies from the environment, with a timeout,
and only to public addresses unless the operator allows private ones. The address check runs
in the resolver the connection uses, so the address checked is the address connected to: a
name that resolves elsewhere at delivery than it did when the request was opened is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.port import PermanentFailure, RateLimited, TemporaryFailure
from bot.delivery.messages import Outbound
from workflows.policy import Policy

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# What a receiver may answer and still be asked again: a timeout or too many requests.
RETRIED_4XX = frozenset({408, 429})
DEFAULT_TIMEOUT = 10.0


class AddressRefused(PermanentFailure):
    """The URL is not one Signoff posts to: not https, or a private or loopback address."""


class Unauthorized(PermanentFailure):
    """The receiver answered 401: permanent, unless the kind can renew its credentials."""


@dataclass(frozen=True)
class OutboundPost:
    url: str
    body: bytes
    headers: Mapping[str, str]


def is_public(address: IpAddress) -> bool:
    """Whether `address` is on the public internet (not private, loopback, link-local,
    shared, reserved, multicast or unspecified; IPv4 inside IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def literal_address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class AddressGuard:
    """The rule for where an outbound POST may go; one rule at open and at delivery."""

    allow_private: bool = False
    resolve_timeout: float = 5.0

    def check_url(self, url: str) -> tuple[str, int]:
        """The URL's host and port; raises `AddressRefused` for a URL Signoff never posts to."""
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise AddressRefused("callbacks go over https only")
        if parts.username is not None or parts.password is not None:
            raise AddressRefused("a URL with a user name or password is not accepted")
        if not parts.hostname:
            raise AddressRefused("the URL names no host")
        try:
            port = parts.port or 443
        except ValueError as error:
            raise AddressRefused(f"the URL's port is not valid: {error}") from None
        address = literal_address(parts.hostname)
        if address is not None:
            self.check_address(parts.hostname, address)
        return parts.hostname, port

    def check_address(self, host: str, address: IpAddress) -> None:
        if not self.allow_private and not is_public(address):
            raise AddressRefused(
                f"{host} is or resolves to {address}, a private, loopback, link-local or "
                "otherwise non-public address (SIGNOFF_ALLOW_PRIVATE_CALLBACKS=true allows it)"
            )

    async def check(self, url: str) -> None:
        """Refuse `url` unless it is https and every address its host resolves to now is
        one Signoff may post to; a host that does not resolve is refused too."""
        host, port = self.check_url(url)
        if literal_address(host) is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.resolve_timeout):
                found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as error:
            raise AddressRefused(f"{host} does not resolve: {error}") from None
        for *_, sockaddr in found:
            self.check_address(host, ipaddress.ip_address(sockaddr[0]))

    def resolver(self) -> AbstractResolver:
        return _GuardedResolver(self)


class _GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only the addresses the guard allows."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard, self.inner = guard, DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        kept, refused = [], None
        for result in found:
            try:
                self.guard.check_address(host, ipaddress.ip_address(result["host"]))
                kept.append(result)
            except AddressRefused as error:
                refused = error
        if not kept:
            raise refused or AddressRefused(f"{host} does not resolve")
        return kept

    async def close(self) -> None:
        await self.inner.close()


@dataclass(frozen=True)
class HttpSender:
    """POSTs one `OutboundPost`: 2xx is done; 408, 429, 5xx and timeouts are worth another
    try; any other answer is permanent."""

    guard: AddressGuard = field(default_factory=AddressGuard)
    timeout: float = DEFAULT_TIMEOUT
    # The certificates trusted: the system's by default (SSL_CERT_FILE names others).
    tls: ssl.SSLContext | None = None

    async def send(self, post: OutboundPost) -> None:
        self.guard.check_url(post.url)
        # A session per POST: outbound POSTs are few, and nothing stays open at shutdown.
        connector = aiohttp.TCPConnector(
            resolver=self.guard.resolver(), use_dns_cache=False, ssl=self.tls or True
        )
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
                session.post(
                    post.url, data=post.body, headers=dict(post.headers), allow_redirects=False
                ) as answer,
            ):
                status, retry_after = answer.status, answer.headers.get("Retry-After")
        except AddressRefused:
            raise
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, AddressRefused):
                raise error.os_error from None
            raise TemporaryFailure(f"could not connect: {error}") from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
        _judge(status, retry_after)


def _judge(status: int, retry_after: str | None) -> None:
    if 200 <= status < 300:
        return
    if status == 429:
        raise RateLimited(_seconds(retry_after), f"HTTP {status}")
    if status >= 500 or status in RETRIED_4XX:
        raise TemporaryFailure(f"HTTP {status}")
    if 300 <= status < 400:
        raise PermanentFailure(f"HTTP {status}: redirects are not followed")
    if status == 401:
        raise Unauthorized(f"HTTP {status}")
    raise PermanentFailure(f"HTTP {status}")


def _seconds(retry_after: str | None, default: float = 30.0) -> float:
    """Retry-After as seconds: a number, or an HTTP date; bounded to an hour."""
    if not retry_after:
        return default
    try:
        return min(max(float(retry_after), 0.0), 3600.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return default
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), 3600.0)


# How one kind of outbound message becomes a POST: read what it needs (secrets, the
# current policy) and sign it as its receiver expects; raise `PermanentFailure` when it may
# no longer go.
Preparer = Callable[[AsyncConnection, Policy, Any, datetime], Awaitable[OutboundPost]]


@dataclass
class OutboundDelivery:
    """The sender and each outbound kind's preparer, by message kind."""

    sender: HttpSender
    kinds: Mapping[str, Preparer]

    @property
    def guard(self) -> AddressGuard:
        return self.sender.guard

    async def deliver(
        self, engine: AsyncEngine, policy: Policy, message: Outbound, now: datetime
    ) -> None:
        await self.sender.send(await self.prepared(engine, policy, message, now))

    async def prepared(
        self, engine: AsyncEngine, policy: Policy, message: Outbound, now: datetime
    ) -> OutboundPost:
        """The POST `message` becomes, by its kind's preparer."""
        prepare = self.kinds.get(message.kind)
        if prepare is None:
            raise PermanentFailure(f"no sender for outbound messages of kind {message.kind}")
        async with engine.connect() as conn:
            return await prepare(conn, policy, message, now)
