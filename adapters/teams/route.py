"""`POST /api/messages`: our token and activity checks, then the Agents SDK's adapter.

Imports the SDK and our Teams modules; never `bot`. Nothing reaches the SDK before the token
is verified and bound to the activity, so a forged or misdirected request is a 401 or 403
and causes no outbound call at all (TEAMS-08); a malformed one is a 400; neither is a 500.
When Entra ID will not give the bot a token, or the Bot Connector fails while the activity is
handled, the answer is a 503 and one line in the log: Teams delivers the activity again.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import Agent, ClaimsIdentity
from pydantic import ValidationError

from adapters.port import RefusalCounter, ServiceUnavailable
from adapters.teams.entra import TokenUnavailable
from adapters.teams.keys import KeysUnavailable
from adapters.teams.token_check import Refused, TokenCheck

log = logging.getLogger("signoff.teams")

MAX_BODY_BYTES = 256 * 1024


def teams_route(
    check: TokenCheck, adapter: CloudAdapter, agent: Agent, count_refusal: RefusalCounter
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    def refuse(status: int, kind: str, detail: str) -> web.Response:
        count_refusal(status, kind)
        log.warning("refused a Teams request (%d, %s): %s", status, kind, detail)
        words = {400: "bad request", 401: "unauthorized", 403: "forbidden", 413: "too large"}
        return web.json_response({"error": words.get(status, "refused")}, status=status)

    async def handle(request: web.Request) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return refuse(413, "size", f"{request.content_length} bytes")
        try:
            claims = await check.claims(request.headers.get("Authorization"))
        except Refused as refusal:
            return refuse(refusal.status, "token", refusal.reason)
        except KeysUnavailable:
            return web.json_response({"error": "signing keys unavailable"}, status=503)
        body = await _json_object(request)
        if body is None:
            return refuse(400, "shape", "not a JSON object")
        try:
            check.bind(claims, body)
        except Refused as refusal:
            return refuse(refusal.status, "binding", refusal.reason)
        if not _is_activity(body):
            return refuse(400, "shape", "not an activity")
        with warnings.catch_warnings():
            # The SDK reads the identity under this plain string key, not an aiohttp RequestKey.
            warnings.simplefilter("ignore", web.NotAppKeyWarning)
            request["claims_identity"] = ClaimsIdentity(claims, authentication_type="Bearer")
        try:
            response = await adapter.process(request, agent)
        except ServiceUnavailable:
            # Nothing was recorded; Teams redelivers, and the person can try again.
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        except (TokenUnavailable, aiohttp.ClientError, TimeoutError) as error:
            # Before anything was recorded: the SDK gets its token before the turn, and the
            # sender's look-up comes before the command. Redelivered, it is handled then.
            who = "Entra ID" if isinstance(error, TokenUnavailable) else "the Bot Connector"
            log.warning(
                "a Teams %s activity was not handled: %s is unavailable (%s: %s); answered 503 "
                "so that Teams delivers it again",
                body.get("type"),
                who,
                type(error).__name__,
                error,
            )
            return web.json_response({"error": "temporarily unavailable"}, status=503)
        return response or web.Response(status=200)

    return handle


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _is_activity(body: dict[str, Any]) -> bool:
    """What the SDK needs to handle it without failing: a type, and the ids of the
    conversation, the sender and the recipient (Teams always sends all four)."""
    if not isinstance(body.get("type"), str):
        return False
    for part in ("conversation", "from", "recipient"):
        value = body.get(part)
        if not (isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]):
            return False
    try:
        Activity.model_validate(body)
    except (ValidationError, TypeError, ValueError):
        return False
    return True
