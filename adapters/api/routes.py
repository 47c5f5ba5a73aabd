"""API v1's aiohttp routes: authenticate, read a bounded body, validate, call the backend.

Translates only: what may be asked, by whom, and what a request's state is are the backend's
(the shell's) to say. Imports aiohttp, pydantic and our API modules; never `bot`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar, get_args

from aiohttp import web
from pydantic import BaseModel, ValidationError

from adapters.api.openapi import OPERATIONS, openapi_document
from adapters.api.problems import ABOUT, MEDIA_TYPE, PROBLEMS_PATH, ApiProblem, Kind, problem
from adapters.api.schema import (
    CancelBody,
    EventList,
    OpenRequestBody,
    RequestPage,
    RequestStatus,
    RequestView,
    SystemView,
    WhoAmI,
)
from adapters.bodies import BodyTooLarge, read_bounded
from adapters.port import RefusalCounter

log = logging.getLogger("signoff.api")

MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_SECONDS = 10.0
MAX_WAIT_SECONDS = 30
STATUSES: frozenset[str] = frozenset(get_args(RequestStatus))
# Counted as inbound refusals: calls turned away before any work, as the other platforms count.
REFUSED_BEFORE_WORK = frozenset(
    {Kind.UNAUTHENTICATED, Kind.MALFORMED, Kind.TOO_LARGE, Kind.RATE_LIMITED}
)


@dataclass(frozen=True)
class Client:
    """Who is asking: a client of the policy, and how it proved it."""

    name: str
    authenticated_by: Literal["token", "github", "gitlab"]
    on_behalf_of: str | None
    may_request: dict[str, list[str]]


class ApiBackend(Protocol):
    """What the routes need from the shell; every method may raise `ApiProblem`."""

    async def authenticate(self, authorization: str | None) -> Client: ...

    async def open(
        self, client: Client, key: str, body: OpenRequestBody
    ) -> tuple[RequestView, bool]: ...

    async def get(self, client: Client, request_id: str) -> RequestView: ...

    async def wait(
        self, client: Client, request_id: str, seen: str | None, seconds: float
    ) -> RequestView:
        """The request's view once it differs from the one tagged `seen` (from the current one
        when None), or once it is not pending, or after `seconds` whatever it is."""

    async def cancel(self, client: Client, request_id: str, reason: str) -> RequestView: ...

    async def page(
        self,
        client: Client,
        status: str | None,
        system: str | None,
        activity: str | None,
        cursor: str | None,
    ) -> RequestPage: ...

    async def events(self, client: Client, request_id: str) -> EventList: ...

    async def system(self, client: Client, system_id: str) -> SystemView: ...


def etag(view: RequestView) -> str:
    """A strong validator of what the client reads; equal views, equal tags."""
    digest = hashlib.sha256(view.model_dump_json().encode()).hexdigest()[:32]
    return f'"{digest}"'


def _problem_response(error: ApiProblem, instance: str) -> web.Response:
    document = problem(error.kind, error.detail, instance)
    headers = dict(error.headers)
    if error.kind is Kind.UNAUTHENTICATED:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="signoff"')
    return web.Response(
        status=document.status,
        body=document.model_dump_json(exclude_none=True),
        content_type=MEDIA_TYPE,
        headers=headers,
    )


def _json(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=model.model_dump_json(),
        content_type="application/json",
        headers=headers,
    )


async def read_body(request: web.Request) -> bytes:
    """The whole body, at most 64 KiB, within the read timeout; chunked bodies included."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiProblem(Kind.TOO_LARGE, f"the body is {request.content_length} bytes")
    try:
        async with asyncio.timeout(BODY_TIMEOUT_SECONDS):
            return await read_bounded(request, MAX_BODY_BYTES)
    except BodyTooLarge as error:
        raise ApiProblem(Kind.TOO_LARGE, "the body is over 64 KiB") from error
    except TimeoutError as error:
        raise ApiProblem(Kind.MALFORMED, "the body did not arrive in time") from error


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: bytes) -> M:
    """The body as `model`: not JSON is a 400; JSON of the wrong shape a 422 naming the field."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ApiProblem(Kind.MALFORMED, "the body is not JSON") from error
    if not isinstance(data, dict):
        raise ApiProblem(Kind.MALFORMED, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise ApiProblem(Kind.INVALID_FIELD, f"{field}: {first['msg']}") from error


def _wait_seconds(request: web.Request) -> float:
    given = request.query.get("wait")
    if given is None:
        return 0
    if not given.isdigit() or int(given) > MAX_WAIT_SECONDS:
        raise ApiProblem(
            Kind.MALFORMED, f"wait must be a whole number from 0 to {MAX_WAIT_SECONDS}"
        )
    return float(given)


def _filter(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is not None and len(value) > 200:
        raise ApiProblem(Kind.MALFORMED, f"{name} is too long")
    return value


Route = Callable[[web.Request, Client], Awaitable[web.Response]]


def api_routes(
    backend: ApiBackend, count_refusal: RefusalCounter = lambda status, kind: None
) -> list[web.RouteDef]:
    """Every route of API v1; the OpenAPI document lists exactly these."""

    def authenticated(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                client = await backend.authenticate(request.headers.get("Authorization"))
                return await route(request, client)
            except ApiProblem as error:
                if error.kind in REFUSED_BEFORE_WORK:
                    count_refusal(ABOUT[error.kind].status, error.kind.value)
                if error.kind is Kind.UNAUTHENTICATED:
                    log.warning(
                        "api request refused (401): %s from %s", error.detail, request.remote
                    )
                return _problem_response(error, request.path)

        return handle

    async def open_request(request: web.Request, client: Client) -> web.Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200:
            raise ApiProblem(Kind.IDEMPOTENCY_KEY_REQUIRED, "send an Idempotency-Key header")
        body = parse(OpenRequestBody, await read_body(request))
        view, created = await backend.open(client, key, body)
        headers = {"Location": f"/api/v1/requests/{view.id}", "ETag": etag(view)}
        return _json(view, 201 if created else 200, headers)

    async def get_request(request: web.Request, client: Client) -> web.Response:
        request_id = request.match_info["id"]
        seconds = _wait_seconds(request)
        given = request.headers.get("If-None-Match")
        if seconds:
            view = await backend.wait(client, request_id, given or None, seconds)
        else:
            view = await backend.get(client, request_id)
        tag = etag(view)
        if given == tag:
            return web.Response(status=304, headers={"ETag": tag})
        return _json(view, headers={"ETag": tag})

    async def cancel_request(request: web.Request, client: Client) -> web.Response:
        body = parse(CancelBody, await read_body(request))
        view = await backend.cancel(client, request.match_info["id"], body.reason)
        return _json(view, headers={"ETag": etag(view)})

    async def list_requests(request: web.Request, client: Client) -> web.Response:
        status = _filter(request, "status")
        if status is not None and status not in STATUSES:
            raise ApiProblem(Kind.MALFORMED, f"status must be one of {', '.join(sorted(STATUSES))}")
        page = await backend.page(
            client,
            status,
            _filter(request, "system"),
            _filter(request, "activity"),
            _filter(request, "cursor"),
        )
        return _json(page)

    async def request_events(request: web.Request, client: Client) -> web.Response:
        return _json(await backend.events(client, request.match_info["id"]))

    async def get_system(request: web.Request, client: Client) -> web.Response:
        return _json(await backend.system(client, request.match_info["id"]))

    async def who_am_i(request: web.Request, client: Client) -> web.Response:
        return _json(
            WhoAmI(
                client=client.name,
                authenticated_by=client.authenticated_by,
                on_behalf_of=client.on_behalf_of,
                may_request=client.may_request,
            )
        )

    async def document(request: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def about_problem(request: web.Request) -> web.Response:
        try:
            kind = Kind(request.match_info["kind"])
        except ValueError:
            raise web.HTTPNotFound() from None
        about = ABOUT[kind]
        return web.json_response(
            {
                "type": PROBLEMS_PATH + kind.value,
                "title": about.title,
                "status": about.status,
                "description": about.description,
            }
        )

    handlers: dict[str, Route] = {
        "openRequest": open_request,
        "listRequests": list_requests,
        "getRequest": get_request,
        "cancelRequest": cancel_request,
        "listRequestEvents": request_events,
        "getSystem": get_system,
        "whoAmI": who_am_i,
    }
    routes = [
        web.route(op.method.upper(), op.path, authenticated(handlers[op.operation_id]))
        for op in OPERATIONS
    ]
    routes.append(web.get("/api/v1/openapi.json", document))
    routes.append(web.get(PROBLEMS_PATH + "{kind}", about_problem))
    return routes
