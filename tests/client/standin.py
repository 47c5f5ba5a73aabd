"""A local API v1 for the CI client's tests: the real routes of `adapters/api`, an in-memory
backend whose requests the test decides, and GitHub's ID token endpoint beside them.

The routes (ETag, `?wait=`, 304, problem details, the Idempotency-Key rule) are the server's
own code; only what is behind `ApiBackend` is a stand-in, so the JSON the client reads is the
JSON the contract's models write. Every call is recorded, with its time and headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client, api_routes, etag
from adapters.api.schema import (
    Consultation,
    Deadlines,
    EventList,
    LedgerRef,
    Links,
    OpenRequestBody,
    PersonAt,
    Quorum,
    Rejection,
    Requester,
    RequestPage,
    RequestView,
    SystemView,
)

TOKEN = "so_ci_0123456789abcdef"
RUNNER_TOKEN = "runner-request-token"  # what the runner gives a step to ask for ID tokens
CLIENT = Client("credit-ci", "token", None, {"credit-scoring": ["deploy", "db-migrate"]})
SYSTEMS = {"credit-scoring": "ai-governance-lead"}


@dataclass(frozen=True)
class Call:
    at: float
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Held:
    view: RequestView
    key: str
    body: OpenRequestBody


@dataclass
class Standin:
    """The backend of the local API v1; tests change requests as people would."""

    calls: list[Call] = field(default_factory=list)
    requests: dict[str, Held] = field(default_factory=dict)
    cancel_reasons: dict[str, str] = field(default_factory=dict)
    # Raised, in order, by the next calls' authentication (a 429, a 503, ...).
    failures: list[ApiProblem] = field(default_factory=list)
    failed_at: list[float] = field(default_factory=list)
    refusal: ApiProblem | None = None
    tokens: set[str] = field(default_factory=lambda: {TOKEN})
    audiences: list[str] = field(default_factory=list)
    public_url: str = ""
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    # ApiBackend

    async def authenticate(self, authorization: str | None) -> Client:
        if self.failures:
            self.failed_at.append(time.monotonic())
            raise self.failures.pop(0)
        if authorization is None or authorization.removeprefix("Bearer ") not in self.tokens:
            raise ApiProblem(Kind.UNAUTHENTICATED, "unknown, revoked or expired token")
        return CLIENT

    async def open(
        self, client: Client, key: str, body: OpenRequestBody
    ) -> tuple[RequestView, bool]:
        if self.refusal is not None:
            raise self.refusal
        for held in self.requests.values():
            if held.key == key:
                if held.body != body:
                    raise ApiProblem(Kind.KEY_REUSED, "this key opened another request")
                return held.view, False
        if body.system not in SYSTEMS:
            raise ApiProblem(Kind.UNKNOWN_SYSTEM, f"no system {body.system}")
        request_id = f"r-{uuid.uuid4().hex[:8]}"
        now = datetime.now(UTC)
        view = RequestView(
            id=request_id,
            status="pending",
            system=body.system,
            activity=body.activity,
            version=body.version,
            environment=body.environment,
            artifact=body.artifact,
            requester=Requester(kind="client", name=client.name, on_behalf_of=None),
            waiting_for="accountable",
            frozen_by=None,
            quorum=Quorum(needed=2, approvals=[]),
            consultation=Consultation(answered=[], concerns=[]),
            rejection=None,
            deadlines=Deadlines(
                remind_at=None, escalate_at=None, expires_at=now + timedelta(hours=72)
            ),
            policy_digest="sha256:" + "ab" * 32,
            ledger=LedgerRef(first_seq=41, last_seq=41, head_hash="cd" * 32),
            links=Links(
                console=f"/requests/{request_id}", events=f"/api/v1/requests/{request_id}/events"
            ),
        )
        self.requests[request_id] = Held(view, key, body)
        return view, True

    async def get(self, client: Client, request_id: str) -> RequestView:
        if request_id not in self.requests:
            raise ApiProblem(Kind.NOT_FOUND, f"no request {request_id}")
        return self.requests[request_id].view

    async def wait(
        self, client: Client, request_id: str, seen: str | None, seconds: float
    ) -> RequestView:
        view = await self.get(client, request_id)
        seen = seen or etag(view)
        if view.status == "pending" and etag(view) == seen:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(
                            lambda: etag(self.requests[request_id].view) != seen
                        ),
                        seconds,
                    )
        return await self.get(client, request_id)

    async def cancel(self, client: Client, request_id: str, reason: str) -> RequestView:
        view = await self.get(client, request_id)
        if view.status != "pending":
            raise ApiProblem(Kind.NOT_PENDING, f"the request is {view.status}")
        self.cancel_reasons[request_id] = reason
        return await self.change(request_id, status="cancelled", waiting_for=None)

    async def page(
        self,
        client: Client,
        status: str | None,
        system: str | None,
        activity: str | None,
        cursor: str | None,
    ) -> RequestPage:
        return RequestPage(items=[held.view for held in self.requests.values()], next_cursor=None)

    async def events(self, client: Client, request_id: str) -> EventList:
        return EventList(items=[])

    async def system(self, client: Client, system_id: str) -> SystemView:
        if system_id not in SYSTEMS:
            raise ApiProblem(Kind.UNKNOWN_SYSTEM, f"no system {system_id}")
        return SystemView(
            id=system_id,
            name="Credit scoring model",
            tier="high",
            activities=["deploy", "db-migrate"],
            accountable=dict.fromkeys(("deploy", "db-migrate"), SYSTEMS[system_id]),
            frozen_by=None,
            next_review=None,
        )

    # What people do, as the test says

    def only(self) -> RequestView:
        (held,) = self.requests.values()
        return held.view

    async def change(self, request_id: str, **update: object) -> RequestView:
        held = self.requests[request_id]
        ledger = held.view.ledger
        seq = (ledger.last_seq or 0) + 1
        update.setdefault("ledger", LedgerRef(first_seq=41, last_seq=seq, head_hash=f"{seq:064x}"))
        async with self._changed:
            held.view = held.view.model_copy(update=update)
            self._changed.notify_all()
        return held.view

    async def approve(
        self, request_id: str, person: str, platform: str = "slack", comment: str | None = None
    ) -> None:
        view = self.requests[request_id].view
        vote = PersonAt(person=person, platform=platform, at=_now(), comment=comment)
        approvals = [*view.quorum.approvals, vote]
        quorum = Quorum(needed=view.quorum.needed, approvals=approvals)
        done = len(approvals) >= view.quorum.needed
        await self.change(
            request_id,
            quorum=quorum,
            status="approved" if done else "pending",
            waiting_for=None if done else "accountable",
        )

    async def reject(self, request_id: str, person: str, reason: str) -> None:
        rejection = Rejection(person=person, reason=reason, at=_now())
        await self.change(request_id, status="rejected", rejection=rejection, waiting_for=None)

    async def concern(self, request_id: str, text: str) -> None:
        view = self.requests[request_id].view
        concerns = [*view.consultation.concerns, text]
        consultation = Consultation(answered=view.consultation.answered, concerns=concerns)
        await self.change(request_id, consultation=consultation)


def _now() -> datetime:
    return datetime.now(UTC)


def github_token_route(standin: Standin) -> web.RouteDef:
    """GitHub's ID token endpoint as a runner step sees it: a bearer request token in, a JWT
    (here an opaque string) for the asked audience out; Signoff accepts each one it hands out."""

    async def token(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {RUNNER_TOKEN}":
            return web.json_response({"message": "bad request token"}, status=401)
        if request.query.get("api-version") != "2.0":
            return web.json_response({"message": "api-version missing"}, status=400)
        audience = request.query.get("audience", "")
        standin.audiences.append(audience)
        value = f"gh-id-{len(standin.audiences)}"
        if audience == standin.public_url:
            standin.tokens.add(value)
        return web.json_response({"count": 1, "value": value})

    return web.get("/_github/token", token)


def app_for(standin: Standin) -> web.Application:
    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        standin.calls.append(
            Call(time.monotonic(), request.method, request.path_qs, dict(request.headers))
        )
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes([*api_routes(standin), github_token_route(standin)])
    return app


@dataclass
class Served:
    standin: Standin
    url: str
    runner: web.AppRunner

    def api_calls(self, method: str = "GET") -> list[Call]:
        return [c for c in self.standin.calls if c.method == method and c.path.startswith("/api/")]


async def serve(standin: Standin, port: int = 0) -> Served:
    runner = web.AppRunner(app_for(standin), shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    standin.public_url = f"http://127.0.0.1:{bound}"
    return Served(standin, standin.public_url, runner)


async def served() -> AsyncIterator[Served]:
    """The fixture's body: a stand-in on a free port, stopped afterwards."""
    server = await serve(Standin())
    try:
        yield server
    finally:
        await server.runner.cleanup()
