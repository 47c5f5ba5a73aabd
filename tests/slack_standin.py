"""A local stand-in for the Slack Web API: records every call and answers as scripted."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    authorization: str | None


@dataclass
class SlackStandIn:
    """Answers `/api/<method>`; `script(method, status, body, headers)` queues one answer."""

    calls: list[Call] = field(default_factory=list)
    users_by_email: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    _scripted: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _ts: int = 1_700_000_000

    def script(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._scripted[method].append((status, body, headers or {}))

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode())) | dict(request.query)
        self.calls.append(Call(method, args, request.headers.get("Authorization")))
        if self._scripted[method]:
            status, body, headers = self._scripted[method].popleft()
            return web.json_response(body, status=status, headers=headers)
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method in ("chat.postMessage", "chat.update"):
            self._ts += 1
            ts = args.get("ts") or f"{self._ts}.000100"
            return {"ok": True, "channel": args["channel"], "ts": ts}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + args["users"][1:]}}
        if method == "users.lookupByEmail":
            user = self.users_by_email.get(args["email"])
            return (
                {"ok": True, "user": {"id": user}}
                if user
                else {"ok": False, "error": "users_not_found"}
            )
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{self._ts}.000200"}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0FORM"}}
        if method == "users.info":
            profile = self.profiles.get(args["user"])
            if profile is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": args["user"], **profile}}
        if method == "auth.test":
            return {"ok": True, "user_id": "U0SIGNOFF", "team_id": "T0ACME"}
        return {"ok": False, "error": "unknown_method"}
