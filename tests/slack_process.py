"""Slack itself, for a real `signoff serve`: signs with the serve secret and posts to the server."""

from __future__ import annotations

import time

import aiohttp

from adapters.slack.signing import sign

SECRET = "serve-signing-secret"


class Slack:
    """What Slack itself does: sign and post to the server."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def post(self, body: bytes) -> tuple[int, str]:
        stamp = str(int(time.time()))
        headers = {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(SECRET.encode(), stamp, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with self.http.post(f"{self.base}/slack/events", data=body, headers=headers) as r:
            return r.status, await r.text()
