"""The gate's body reading over a raw socket against a real running server.

aiohttp's test client writes a body in one piece; Slack, proxies and load balancers do not.
These tests write headers and body in separate TCP writes with pauses between them, send
chunked bodies and stall mid-body, which is what the gate must survive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from aiohttp import web

from adapters.slack.gate import MAX_BODY_BYTES, SignedRequest, slack_gate
from adapters.slack.signing import SigningSecrets, sign

SECRET = b"wire-signing-secret"
READ_TIMEOUT = 0.5


@dataclass
class Server:
    port: int
    seen: list[bytes] = field(default_factory=list)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    seen: list[bytes] = []

    async def handler(_: web.Request, signed: SignedRequest) -> web.Response:
        seen.append(signed.body)
        return web.json_response({"ok": True})

    app = web.Application()
    gate = slack_gate(SigningSecrets(SECRET), time.time, handler, read_timeout=READ_TIMEOUT)
    app.router.add_post("/slack/events", gate)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Server(port, seen)
    finally:
        await runner.cleanup()


def form_body(size: int) -> bytes:
    """A well-formed interaction body of exactly `size` bytes, as a large form would be."""
    empty = payload_body("")
    body = payload_body("a" * (size - len(empty)))
    assert len(body) == size
    return body


def payload_body(padding: str) -> bytes:
    payload = {"type": "view_submission", "view": {"private_metadata": padding}}
    return b"payload=" + quote(json.dumps(payload)).encode()


def head(body_headers: str, body: bytes) -> bytes:
    stamp = str(int(time.time()))
    lines = [
        "POST /slack/events HTTP/1.1",
        "Host: 127.0.0.1",
        f"X-Slack-Request-Timestamp: {stamp}",
        f"X-Slack-Signature: {sign(SECRET, stamp, body)}",
        "Content-Type: application/x-www-form-urlencoded",
        "Connection: close",
        body_headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_of(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), 10)
    return int(line.split()[1])


async def write_quietly(writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
    """Writes until the server stops listening; a refused body may be cut off mid-way."""
    with contextlib.suppress(ConnectionError):
        for part in parts:
            writer.write(part)
            await writer.drain()


@pytest.mark.parametrize("size", [3 * 1024, 200 * 1024, MAX_BODY_BYTES])
async def test_a_signed_body_that_arrives_in_two_writes_with_a_pause_is_accepted_whole(
    server: Server, size: int
) -> None:
    body = form_body(size)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head(f"Content-Length: {len(body)}", body))
        await writer.drain()
        writer.write(body[: size // 2])
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(body[size // 2 :])
        await writer.drain()
        assert await status_of(reader) == 200
    finally:
        writer.close()
    assert server.seen == [body]


async def test_a_chunked_body_over_one_mebibyte_is_refused_as_too_large(server: Server) -> None:
    chunk = b"a" * (64 * 1024)
    count = MAX_BODY_BYTES // len(chunk) + 2
    body = b"payload=" + chunk * count
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head("Transfer-Encoding: chunked", body))
        pieces = [b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(count)] + [b"0\r\n\r\n"]
        sending = asyncio.create_task(write_quietly(writer, pieces))
        assert await status_of(reader) == 413
        await sending
    finally:
        writer.close()
    assert server.seen == []


async def test_a_signed_body_that_stalls_past_the_read_timeout_is_408_not_401(
    server: Server,
) -> None:
    body = form_body(3 * 1024)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head(f"Content-Length: {len(body)}", body) + body[:100])
        await writer.drain()
        assert await status_of(reader) == 408
    finally:
        writer.close()
    assert server.seen == []
