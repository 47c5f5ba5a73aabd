"""Local stand-ins for Microsoft: the OpenID/JWKS key server, a token factory, the Bot Connector.

The key server holds real RSA keys and serves them with endorsements as Microsoft does; the
factory signs RS256 tokens with them (or with anything a test wants to try). The connector
records every call with the `Authorization` header it carried and answers as scripted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

APP_ID = "00000000-0000-4000-8000-00000000b0b1"
TENANT = "72f988bf-0000-4000-8000-0000000000aa"
ISSUER = "https://api.botframework.com"


def new_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class KeyServer:
    """`/openid` names `/jwks` and the issuer; keys are added with the endorsements each one
    carries. A sovereign cloud's key server names its own issuer."""

    keys: dict[str, tuple[RSAPrivateKey, list[str]]] = field(default_factory=dict)
    issuer: str = ISSUER
    fetches: int = 0
    delay: float = 0.0
    failing: bool = False
    base_url: str = ""

    def add(self, kid: str, endorsements: list[str] | None = None) -> RSAPrivateKey:
        key = new_key()
        self.keys[kid] = (key, ["msteams"] if endorsements is None else endorsements)
        return key

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/openid", self._openid)
        app.router.add_get("/jwks", self._jwks)
        return app

    async def _openid(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=500)
        return web.json_response({"issuer": self.issuer, "jwks_uri": f"{self.base_url}/jwks"})

    async def _jwks(self, request: web.Request) -> web.Response:
        self.fetches += 1
        await asyncio.sleep(self.delay)
        if self.failing:
            return web.Response(status=500)
        entries = []
        for kid, (key, endorsements) in self.keys.items():
            public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            entries.append({**public, "kid": kid, "use": "sig", "endorsements": endorsements})
        return web.json_response({"keys": entries})


@dataclass
class Tokens:
    """Signs Bot Connector tokens; every claim and header can be overridden or removed."""

    server: KeyServer
    kid: str = "key-1"

    def make(
        self,
        service_url: str,
        *,
        key: Any = None,
        algorithm: str = "RS256",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.server.issuer,
            "aud": APP_ID,
            "exp": now + 600,
            "nbf": now - 60,
            "serviceurl": service_url,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        signing_key = key if key is not None else self.server.keys[self.kid][0]
        return jwt.encode(
            body, signing_key, algorithm=algorithm, headers={"kid": self.kid, **(headers or {})}
        )


def signed(claims: dict[str, Any], key: Any, kid: str = "key-1") -> str:
    """RS256 over any claims at all, also those PyJWT would refuse to encode (a list `iss`)."""
    payload = json.dumps(claims).encode()
    return jwt.api_jws.PyJWS().encode(payload, key, "RS256", {"kid": kid})


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]  # the JSON object sent; empty for a call without a body
    authorization: str | None
    answered_id: str | None = None  # the id this stand-in gave what the call created


async def json_body(request: web.Request) -> dict[str, Any]:
    body = await request.json() if request.can_read_body else {}
    assert isinstance(body, dict), body  # Microsoft's APIs take JSON objects only
    return body


@dataclass
class BotConnector:
    """Answers the Bot Connector's `/v3/conversations/...` as Teams would, and records calls."""

    calls: list[Call] = field(default_factory=list)
    # Benchmarks turn this off once set up: a stand-in's memory of every call is not the app's.
    keep_calls: bool = True
    emails: dict[str, str] = field(default_factory=dict)  # member id (MRI) -> email
    mris: dict[str, str] = field(default_factory=dict)  # Entra object id -> MRI
    _scripted: deque[tuple[str, str, int, dict[str, str]]] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def script(
        self, method: str, status: int, headers: dict[str, str] | None = None, path: str = ""
    ) -> None:
        """The next `method` call (POST, PUT, GET) whose path contains `path` answers `status`."""
        self._scripted.append((method, path, status, headers or {}))

    def posts(self, conversation: str | None = None) -> list[Call]:
        """New messages sent (not replies), optionally to one conversation."""
        return [
            c
            for c in self.calls
            if c.method == "POST"
            and c.path.endswith("/activities")
            and (conversation is None or c.path == f"/v3/conversations/{conversation}/activities")
        ]

    def cards(self, conversation: str) -> list[Call]:
        return [c for c in self.posts(conversation) if c.body.get("attachments")]

    def replies(self, conversation: str) -> list[str]:
        prefix = f"/v3/conversations/{conversation}/activities/"
        return [
            c.body.get("text", "")
            for c in self.calls
            if c.method == "POST" and c.path.startswith(prefix)
        ]

    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.method == "PUT"]

    def created(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == "/v3/conversations"]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        call = Call(request.method, request.path, body, request.headers.get("Authorization"))
        if self.keep_calls:
            self.calls.append(call)
        for i, (method, path, status, headers) in enumerate(self._scripted):
            if method == request.method and path in request.path:
                del self._scripted[i]
                return web.json_response(
                    {"error": {"code": str(status)}}, status=status, headers=headers
                )
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts == ["v3", "conversations"]:
            return web.json_response({"id": f"a:chat-{body['members'][0]['id']}"}, status=201)
        if request.method == "POST" and "activities" in parts:
            call.answered_id = f"act-{next(self._ids)}"
            return web.json_response({"id": call.answered_id}, status=201)
        if request.method == "PUT":
            return web.json_response({"id": parts[-1]})
        if request.method == "GET" and len(parts) == 5 and parts[3] == "members":
            # A member is named by their MRI or by their Entra object id; the answer gives both.
            member = self.mris.get(parts[4], parts[4])
            if member not in self.emails:
                return web.json_response({"error": {"code": "NotFound"}}, status=404)
            email = self.emails[member]
            object_id = next((o for o, m in self.mris.items() if m == member), None)
            return web.json_response(
                {
                    "id": member,
                    "objectId": object_id,
                    "name": email,
                    "email": email,
                    "userPrincipalName": email,
                }
            )
        return web.json_response({"error": {"code": "NotFound"}}, status=404)


@dataclass
class GraphStandIn:
    """Microsoft Graph's channel calls for one team; `forbid` answers 403 as without consent."""

    calls: list[Call] = field(default_factory=list)
    channels: dict[str, str] = field(default_factory=dict)  # display name -> id
    forbid: bool = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def members_added(self) -> list[str]:
        return [
            c.body["user@odata.bind"].split("'")[1]
            for c in self.calls
            if c.method == "POST" and c.path.endswith("/members")
        ]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        self.calls.append(
            Call(request.method, request.path, body, request.headers.get("Authorization"))
        )
        if self.forbid:
            return web.json_response({"error": {"code": "Forbidden"}}, status=403)
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts[-1] == "channels":
            name = body["displayName"]
            if name in self.channels:
                return web.json_response({"error": {"code": "NameAlreadyExists"}}, status=409)
            self.channels[name] = f"19:{name}@thread.tacv2"
            return web.json_response({"id": self.channels[name], "displayName": name}, status=201)
        if request.method == "GET" and parts[-1] == "channels":
            listed = [{"id": i, "displayName": n} for n, i in self.channels.items()]
            return web.json_response({"value": listed})
        if request.method == "POST" and parts[-1] == "members":
            return web.json_response({"id": "member"}, status=201)
        return web.json_response({"error": {"code": "NotFound"}}, status=404)
