"""The authenticity gate in front of `POST /slack/events`: size, signature, then parsing.

Imports aiohttp and `adapters.slack.signing`; never `bot`. Nothing from the body is looked at
until its signature holds, so no body field can skip verification (SIG-12), and malformed
input is a 400 or 401 with a generic body, never a 500 (SIG-06..10, CHAT-10, CHAT-11).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from adapters.bodies import BodyTooLarge, read_bounded
from adapters.port import RefusalCounter
from adapters.slack.signing import SigningSecrets, check_signature

log = logging.getLogger("signoff.slack")

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
# Slack wants an answer within three seconds; a body still arriving long after that is a
# stalled or hostile client, and holding its connection open helps nobody.
READ_TIMEOUT_SECONDS = 10.0

Handler = Callable[[web.Request, "SignedRequest"], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature held: its raw body and what the body says."""

    body: bytes
    form: dict[str, str]
    payload: dict[str, Any] | None


def _refuse(status: int, reason: str, request: web.Request) -> web.Response:
    # One log line with the reason, never the body: it may hold tokens or personal data.
    log.warning("slack request refused (%d): %s from %s", status, reason, request.remote)
    message = {
        400: "bad request",
        401: "invalid request",
        408: "request timeout",
        413: "request too large",
    }[status]
    return web.json_response({"error": message}, status=status)


def _depth(value: object, limit: int) -> bool:
    """Whether `value` nests no deeper than `limit`."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return False
        if isinstance(node, dict):
            stack += [(v, level + 1) for v in node.values()]
        elif isinstance(node, list):
            stack += [(v, level + 1) for v in node]
    return True


def _parse(body: bytes) -> SignedRequest | None:
    """Slack's form bodies, with `payload` holding JSON for interactions; None if malformed."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=100
        )
    except (UnicodeDecodeError, ValueError):
        return None
    if any(len(values) != 1 for values in pairs.values()):
        return None
    form = {key: values[0] for key, values in pairs.items()}
    payload = None
    if "payload" in form:
        try:
            payload = json.loads(form["payload"])
        except (ValueError, RecursionError):
            return None
        if not isinstance(payload, dict) or not _depth(payload, MAX_JSON_DEPTH):
            return None
    return SignedRequest(body, form, payload)


def slack_gate(
    secrets: SigningSecrets,
    clock: Callable[[], float],
    handler: Handler,
    count_refusal: RefusalCounter = lambda status, kind: None,
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler that authenticates, parses, then calls `handler`.

    The body is read whole before anything else (a body that has not arrived within
    `read_timeout` seconds is a 408, never judged on what came so far).
    """

    def refuse(status: int, kind: str, reason: str, request: web.Request) -> web.Response:
        count_refusal(status, kind)
        return _refuse(status, reason, request)

    async def gate(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return refuse(413, "too-large", "declared body over 1 MiB", request)
        try:
            async with asyncio.timeout(read_timeout):
                body = await read_bounded(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return refuse(413, "too-large", "body over 1 MiB", request)
        except TimeoutError:
            return refuse(408, "slow-body", f"body not received within {read_timeout:g} s", request)
        except (OSError, ValueError) as error:
            return refuse(400, "unreadable", f"unreadable body: {type(error).__name__}", request)
        now = clock()
        check = check_signature(
            secrets.accepted(now),
            request.headers.getall("X-Slack-Request-Timestamp", []),
            request.headers.getall("X-Slack-Signature", []),
            body,
            now,
        )
        if not check.ok:
            return refuse(401, check.kind, check.reason, request)
        signed = _parse(body)
        if signed is None:
            return refuse(400, "malformed", "signed but malformed body", request)
        return await handler(request, signed)

    return gate
