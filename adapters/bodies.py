"""Reads a whole HTTP request body under a size bound, for every inbound gate; never `bot`."""

from __future__ import annotations

from aiohttp import web


class BodyTooLarge(Exception):
    """The body went past the bound, however it was sent (declared or chunked)."""


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The whole body, however many reads it arrives in, up to `limit` bytes.

    One `content.read(n)` returns what happens to be buffered, so a body that arrives in
    several TCP segments would be judged (a signature refused, JSON cut) on its first part.
    The caller bounds the time it may take.
    """
    parts: list[bytes] = []
    size = 0
    async for part in request.content.iter_any():
        size += len(part)
        if size > limit:
            raise BodyTooLarge
        parts.append(part)
    return b"".join(parts)
