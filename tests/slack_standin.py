"""A local stand-in for the Slack Web API: records every call and answers as scripted."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

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
    # Benchmarks turn this off once set up: a stand-in's memory of every call is not the app's.
    keep_calls: bool = True
    users_by_email: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels_by_name: dict[str, str] = field(default_factory=dict)
    uninvitable: dict[str, str] = field(default_factory=dict)  # user -> the error invites get
    # The workspace the app is installed in, as `auth.test` tells it.
    team_id: str = "T0ACME"
    _scripted: dict[str, deque[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    _ts: int = 1_700_000_000
    # The `ts` each posted message was given, by its call: updates advance the counter too.
    _posted_ts: dict[int, str] = field(default_factory=dict)
    # Added to every Web API answer, to stand for the network and Slack's own time.
    delay: float = 0.0
    # Chance that a message post or update is answered 429 (Retry-After: 1) or 503 instead.
    flaky_429: float = 0.0
    flaky_503: float = 0.0
    randomness: random.Random = field(default_factory=lambda: random.Random(7))
    # Socket Mode: the app's WebSocket once it connected, and acks by envelope id.
    socket: web.WebSocketResponse | None = None
    socket_connected: asyncio.Event = field(default_factory=asyncio.Event)
    _acks: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    def script(
        self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._scripted[method].append((status, body, headers or {}))

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def card_for(self, channel: str) -> Call:
        """The last message posted to `channel`."""
        return [p for p in self.called("chat.postMessage") if p.args["channel"] == channel][-1]

    def ts_of(self, card: Call) -> str:
        """The `ts` this stand-in gave a posted message."""
        return self._posted_ts[id(card)]

    def reason_submission(self, user: str, reason: str, team: str = "T0ACME") -> bytes:
        """The signed-to-be body Slack sends when `user` submits `reason` in the reason form
        this stand-in opened last."""
        form = self.called("views.open")[-1].args["view"]
        form = json.loads(form) if isinstance(form, str) else form
        submission = {
            "type": "view_submission",
            "user": {"id": user, "team_id": team},
            "team": {"id": team},
            "view": {
                "type": "modal",
                "id": "V0FORM",
                "callback_id": "signoff.reason",
                "private_metadata": form["private_metadata"],
                "state": {
                    "values": {"reason": {"text": {"type": "plain_text_input", "value": reason}}}
                },
            },
        }
        return urlencode({"payload": json.dumps(submission)}).encode()

    def press(self, user: str, card: Call, action: str, team: str = "T0ACME") -> dict[str, Any]:
        """The `block_actions` payload Slack sends when `user` of workspace `team` presses
        `action` on `card`."""
        actions = next(b for b in card.args["blocks"] if b["type"] == "actions")
        button = next(e for e in actions["elements"] if e["action_id"] == f"signoff.{action}")
        return {
            "type": "block_actions",
            "user": {"id": user, "team_id": team},
            "team": {"id": team},
            "trigger_id": f"trigger-{user}",
            "container": {
                "type": "message",
                "channel_id": card.args["channel"],
                "message_ts": self.ts_of(card),
            },
            "actions": [
                {
                    "action_id": button["action_id"],
                    "block_id": actions["block_id"],
                    "value": button["value"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_get("/link", self._socket)
        return app

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver one Socket Mode envelope and wait for the app's acknowledgement."""
        await asyncio.wait_for(self.socket_connected.wait(), 10)
        assert self.socket is not None
        envelope_id = str(uuid.uuid4())
        ack = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = ack
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self.socket.send_json(envelope)
        return await asyncio.wait_for(ack, 10)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.socket_connected.set()
        async for message in socket:
            answer = json.loads(message.data)
            ack = self._acks.pop(answer.get("envelope_id", ""), None)
            if ack is not None and not ack.done():
                ack.set_result(answer)
        return socket

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode())) | dict(request.query)
        call = Call(method, args, request.headers.get("Authorization"))
        if self.keep_calls:
            self.calls.append(call)
        if self._scripted[method]:
            status, body, headers = self._scripted[method].popleft()
            return web.json_response(body, status=status, headers=headers)
        if method in ("chat.postMessage", "chat.update"):
            draw = self.randomness.random()
            if draw < self.flaky_429:
                body = {"ok": False, "error": "ratelimited"}
                return web.json_response(body, status=429, headers={"Retry-After": "1"})
            if draw < self.flaky_429 + self.flaky_503:
                return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        if method == "apps.connections.open":
            link = request.url.with_scheme("ws").with_path("/link").with_query(None)
            return web.json_response({"ok": True, "url": str(link)})
        answer = self._answer(method, args)
        if method == "chat.postMessage" and self.keep_calls:
            self._posted_ts[id(call)] = answer["ts"]
        return web.json_response(answer)

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
        if method == "conversations.create":
            name = args["name"]
            if name in self.channels_by_name:
                return {"ok": False, "error": "name_taken"}
            self.channels_by_name[name] = f"C0INC{len(self.channels_by_name) + 1}"
            return {"ok": True, "channel": {"id": self.channels_by_name[name], "name": name}}
        if method == "conversations.list":
            listed = [{"id": i, "name": n} for n, i in self.channels_by_name.items()]
            return {"ok": True, "channels": listed, "response_metadata": {"next_cursor": ""}}
        if method == "conversations.invite":
            if args["users"] in self.uninvitable:
                return {"ok": False, "error": self.uninvitable[args["users"]]}
            return {"ok": True, "channel": {"id": args["channel"]}}
        if method in ("conversations.setTopic", "conversations.setPurpose", "pins.add"):
            return {"ok": True}
        if method == "auth.test":
            return {"ok": True, "user_id": "U0SIGNOFF", "team_id": self.team_id}
        return {"ok": False, "error": "unknown_method"}
