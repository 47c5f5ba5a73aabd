"""Wires API v1 into the shell: the routes' backend, over the approval service and the ledger.

The only module of `bot` that knows API v1's routes. A client's token is checked, then its
call becomes the same command a person's chat message would be (platform `api`, the client's
name as the account); the machine's answers become problem details.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import TypeVar

from aiohttp import web

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client, api_routes
from adapters.api.schema import EventList, OpenRequestBody, RequestPage, RequestView, SystemView
from adapters.port import ServiceUnavailable
from bot.platforms.api_auth import ApiGate
from bot.platforms.api_polls import Polls
from bot.platforms.api_views import event_view, provenance_of, request_view, system_view
from bot.platforms.api_watch import RequestWatch
from bot.runtime import Mount, Runtime
from bot.services.api_oidc import NO_ID_TOKENS, Issuers
from bot.services.api_reads import RequestRead, read_request
from bot.services.api_requests import ApiRequests, CallbackRefused, KeyConflict
from bot.services.api_tokens import TokenService
from bot.storage.api_clients import client_requests, request_entries
from bot.storage.incidents import open_incident_of
from bot.storage.reviews import open_review_of
from workflows.commands import OpenRequest
from workflows.inventory import person_by_email
from workflows.machine_types import Denial, Outcome, Problem
from workflows.model import Actor, ApprovalRequest
from workflows.opening import API
from workflows.policy import Policy
from workflows.wording import missing_field

log = logging.getLogger("signoff.api")
T = TypeVar("T")
PAGE = 50

# What the machine's refusals of an open or a cancel are, as problem details.
REFUSALS: dict[str, Kind] = {
    Denial.CLIENT_NOT_ALLOWED: Kind.NOT_ALLOWED,
    Denial.NOT_REQUESTER: Kind.NOT_FOUND,
    Denial.DECIDED: Kind.NOT_PENDING,
    Denial.FROZEN: Kind.FROZEN,
    Problem.UNKNOWN_SYSTEM: Kind.UNKNOWN_SYSTEM,
    Problem.UNKNOWN_ACTIVITY: Kind.UNKNOWN_ACTIVITY,
    Problem.VERSION_REQUIRED: Kind.INVALID_FIELD,
    Problem.UNKNOWN_REQUEST: Kind.NOT_FOUND,
}


def fingerprint(body: OpenRequestBody) -> str:
    """The body's identity whatever its key order or spacing: sorted keys, defaults filled."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refused(outcome: Outcome) -> ApiProblem:
    kind = REFUSALS.get(outcome.code, Kind.REFUSED)
    # A field left empty is named as the body's field; the machine's message is chat's.
    missing = missing_field(outcome.code)
    if missing is not None:
        return ApiProblem(kind, f"{missing.field}: required for activity {missing.activity}")
    return ApiProblem(kind, outcome.message)


class ApiShell:
    """`ApiBackend` over the runtime's services."""

    def __init__(self, runtime: Runtime, watch: RequestWatch, issuers: Issuers) -> None:
        self.runtime, self.watch = runtime, watch
        uow = runtime.service.uow
        self.gate = ApiGate(TokenService(uow), issuers, lambda: self._policy, uow.clock)
        self.requests = ApiRequests(runtime.service, runtime.relay.outbound.guard)
        # SIGNOFF_PUBLIC_URL, when set, makes the view's links absolute; else all are relative.
        self.public_url = issuers.audience or ""
        self.polls = Polls(watch, self._read, self._view)

    @property
    def _policy(self) -> Policy:
        return self.runtime.policies.current.policy

    def _now(self) -> datetime:
        return self.runtime.service.uow.clock()

    async def authenticate(self, authorization: str | None) -> Client:
        return await self.gate.authenticate(authorization)

    def _person(self, given: str | None) -> str | None:
        if given is None:
            return None
        policy = self._policy
        person = given if given in policy.people else person_by_email(policy, given)
        if person is None:
            raise ApiProblem(Kind.INVALID_FIELD, f"on_behalf_of: no person '{given}' in the policy")
        return person

    async def open(
        self, client: Client, key: str, body: OpenRequestBody
    ) -> tuple[RequestView, bool]:
        person_of_record = self.gate.admit_open(client)
        on_behalf_of = self._person(body.on_behalf_of)
        if body.callback is not None:
            prefixes = self._policy.clients[client.name].callbacks
            try:
                await _available(
                    self.requests.check_callback(client.name, prefixes, body.callback.url)
                )
            except CallbackRefused as error:
                raise ApiProblem(Kind.INVALID_FIELD, f"callback.url: {error}") from None
        command = OpenRequest(
            request_id="",
            actor=Actor(person=person_of_record, platform=API, platform_user_id=client.name),
            system=body.system,
            activity=body.activity,
            version=body.version,
            environment=body.environment,
            reason=body.reason,
            on_behalf_of=on_behalf_of,
            **provenance_of(body),
        )
        stored = body.model_dump_json(exclude_none=True)
        opened = await _available(self.requests.open(key, fingerprint(body), stored, command))
        if opened.conflict is KeyConflict.REUSED:
            raise ApiProblem(
                Kind.KEY_REUSED,
                f"this Idempotency-Key opened {opened.request_id} with another body",
            )
        if opened.conflict is KeyConflict.IN_FLIGHT:
            raise ApiProblem(Kind.IN_FLIGHT, "a call with this Idempotency-Key is being handled")
        if opened.outcome is not None and not opened.outcome.ok:
            raise _refused(opened.outcome)
        if opened.state is None:  # the key's request, opened by an earlier call
            return await self.get(client, opened.request_id), opened.created
        # What the open wrote, as a GET would read it back, without reading it back.
        view = request_view(opened.state, opened.body, opened.entries, self._now(), self.public_url)
        return view, opened.created

    async def _owned(self, client: Client, request_id: str) -> tuple[ApprovalRequest, str]:
        found = await _available(self.requests.owned(client.name, request_id))
        if found is None:
            raise ApiProblem(Kind.NOT_FOUND, f"no request {request_id} opened by {client.name}")
        return found

    async def _read(self, client: Client, request_id: str) -> RequestRead:
        read = await _available(read_request(self.runtime.service.uow, client.name, request_id))
        if read is None:
            raise ApiProblem(Kind.NOT_FOUND, f"no request {request_id} opened by {client.name}")
        return read

    def _view(self, read: RequestRead) -> RequestView:
        """The view of `read` now: `waiting_for` depends on the time."""
        return request_view(read.state, read.body, read.entries, self._now(), self.public_url)

    async def get(self, client: Client, request_id: str) -> RequestView:
        return self._view(await self._read(client, request_id))

    async def wait(
        self, client: Client, request_id: str, seen: str | None, seconds: float
    ) -> RequestView:
        return await self.polls.wait(client, request_id, seen, seconds)

    async def cancel(self, client: Client, request_id: str, reason: str) -> RequestView:
        await self._owned(client, request_id)
        outcome = await _available(self.requests.cancel(client.name, request_id, reason))
        if not outcome.ok:
            raise _refused(outcome)
        return await self.get(client, request_id)

    async def page(
        self,
        client: Client,
        status: str | None,
        system: str | None,
        activity: str | None,
        cursor: str | None,
    ) -> RequestPage:
        after = _decode_cursor(cursor) if cursor else None
        given = {"status": status, "system": system, "activity": activity}
        filters = {k: v for k, v in given.items() if v is not None}
        async with self.runtime.service.uow.reading() as conn:
            rows = await client_requests(conn, client.name, filters, after, PAGE + 1)
            items = [
                request_view(
                    state, body, await request_entries(conn, state.id), self._now(), self.public_url
                )
                for state, body, _ in rows[:PAGE]
            ]
        following = None
        if len(rows) > PAGE:
            state, _, at = rows[PAGE - 1]
            following = _encode_cursor(at, state.id)
        return RequestPage(items=items, next_cursor=following)

    async def events(self, client: Client, request_id: str) -> EventList:
        await self._owned(client, request_id)
        async with self.runtime.service.uow.reading() as conn:
            entries = await request_entries(conn, request_id)
        return EventList(items=[event_view(row) for row in entries])

    async def system(self, client: Client, system_id: str) -> SystemView:
        if system_id not in client.may_request or system_id not in self._policy.systems:
            raise ApiProblem(
                Kind.UNKNOWN_SYSTEM, f"no system '{system_id}' this client may ask for"
            )
        async with self.runtime.service.uow.reading() as conn:
            incident = await open_incident_of(conn, system_id)
            review = await open_review_of(conn, system_id)
        return system_view(
            self._policy,
            system_id,
            incident.id if incident else None,
            review.due_at if review else None,
        )


async def _available(call: Awaitable[T]) -> T:
    """Await `call`; a database outage is a 503, never taken for an answer."""
    try:
        return await call
    except ServiceUnavailable as error:
        raise ApiProblem(
            Kind.UNAVAILABLE, "the database is unavailable; nothing changed"
        ) from error


def _encode_cursor(at: datetime, request_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{request_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), request_id
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(Kind.MALFORMED, "cursor: not a cursor this API gave") from None


def api_mount(issuers: Issuers = NO_ID_TOKENS) -> Mount:
    """Adds API v1's routes and the waiters' watch once the runtime exists; ID tokens are
    accepted from `issuers`."""

    def mount(app: web.Application, runtime: Runtime) -> None:
        watch = RequestWatch(runtime.engine)
        shell = ApiShell(runtime, watch, issuers)
        app.router.add_routes(api_routes(shell, runtime.metrics.refusal_counter(API)))
        app.cleanup_ctx.append(watch.running)

    return mount
