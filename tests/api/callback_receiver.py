"""A client's callback receiver over real HTTPS: records every POST, answers as scripted.

Its certificate comes from a throwaway authority (trustme) for 127.0.0.1 and localhost;
Signoff trusts it through `tls` in process, or `SSL_CERT_FILE` in a `signoff serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers` are the statuses of the next POSTs, in order; then 200."""

    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    base: str = ""
    ca_file: Path | None = None
    client_tls: ssl.SSLContext | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(request.path, dict(request.headers), body))
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    async def until(self, count: int, patience: float = 30.0) -> list[Received]:
        """Wait until `count` POSTs have arrived; all of them."""
        async with asyncio.timeout(patience):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@contextlib.asynccontextmanager
async def receiver(
    directory: Path, answers: list[int] | None = None, delay: float = 0.0
) -> AsyncIterator[Receiver]:
    """A receiver on https://127.0.0.1:PORT; its authority's certificate in `directory`."""
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    authority.configure_trust(client_tls)
    ca_file = directory / "callback-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    got = Receiver(list(answers or []), delay)
    app = web.Application()
    app.router.add_post("/{tail:.*}", got.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=server_tls)
    got.base, got.ca_file, got.client_tls = f"https://127.0.0.1:{server.port}", ca_file, client_tls
    try:
        yield got
    finally:
        await server.close()
