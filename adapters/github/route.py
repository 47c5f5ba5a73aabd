"""`POST /github/webhook`: size, then the signature, then the event; never imports `bot`.

Nothing in the body is read before `X-Hub-Signature-256` holds for it (a bad or missing one
is a 401 and nothing is opened). Signed events other than a requested deployment protection
rule are answered 200 and left alone, since an App receives whatever GitHub sends it; a
signed body that is not a usable rule is a 400.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from adapters.bodies import BodyTooLarge, read_bounded
from adapters.github.payload import EVENT, DeploymentAsk, Malformed, action_of, parse_ask
from adapters.github.signature import HEADER, signature_problem
from adapters.port import RefusalCounter, ServiceUnavailable

log = logging.getLogger("signoff.github")

PATH = "/github/webhook"
MAX_BODY_BYTES = 1024 * 1024
READ_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class GateAnswer:
    """What became of an ask: the request that stands for it, or why there is none."""

    request_id: str | None
    created: bool = False
    refused: str | None = None
    in_flight: bool = False  # a concurrent delivery of the same ask is opening it


class GateShell(Protocol):
    """What the route needs from the shell: one request per run and environment."""

    async def deployment(self, ask: DeploymentAsk) -> GateAnswer: ...


@dataclass(frozen=True)
class GateSettings:
    secret: bytes
    api_url: str
    read_timeout: float = READ_TIMEOUT_SECONDS


def github_routes(
    shell: GateShell, settings: GateSettings, count_refusal: RefusalCounter
) -> list[web.RouteDef]:
    return [web.post(PATH, github_webhook(shell, settings, count_refusal))]


def github_webhook(
    shell: GateShell, settings: GateSettings, count_refusal: RefusalCounter
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    def refuse(status: int, kind: str, reason: str, request: web.Request) -> web.Response:
        count_refusal(status, kind)
        # The reason, never the body: it names people and repositories.
        log.warning("github webhook refused (%d): %s from %s", status, reason, request.remote)
        return web.json_response({"error": reason}, status=status)

    async def webhook(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return refuse(413, "too-large", "declared body over 1 MiB", request)
        try:
            async with asyncio.timeout(settings.read_timeout):
                body = await read_bounded(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return refuse(413, "too-large", "body over 1 MiB", request)
        except TimeoutError:
            return refuse(408, "slow-body", "body not received in time", request)
        except (OSError, ValueError) as error:
            return refuse(400, "unreadable", f"unreadable body: {type(error).__name__}", request)
        problem = signature_problem(settings.secret, body, request.headers.getall(HEADER, []))
        if problem is not None:
            return refuse(401, "signature", problem, request)
        event = request.headers.get("X-GitHub-Event", "")
        if event != EVENT:
            # Pings, installations and whatever else the App is sent: nothing to do.
            return web.json_response({"ignored": event or "no event"})
        action = action_of(body)
        if action is None:
            return refuse(400, "malformed", "not a JSON object with an action", request)
        if action != "requested":
            return web.json_response({"ignored": f"{event} {action}"})
        try:
            ask = parse_ask(body, settings.api_url)
        except Malformed as error:
            return refuse(400, "malformed", f"not a deployment protection rule: {error}", request)
        try:
            answer = await shell.deployment(ask)
        except ServiceUnavailable:
            return web.json_response(
                {"error": "the database is unavailable; nothing changed, redeliver later"},
                status=503,
            )
        if answer.in_flight:
            return web.json_response({"in_flight": True}, status=202)
        if answer.request_id is None:
            return web.json_response({"state": "rejected", "reason": answer.refused})
        status = 201 if answer.created else 200
        return web.json_response(
            {"request_id": answer.request_id, "created": answer.created}, status=status
        )

    return webhook
