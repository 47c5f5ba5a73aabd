"""A backend for mounting API v1's routes where no call reaches it (route listing only)."""

from __future__ import annotations

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client
from adapters.api.schema import EventList, OpenRequestBody, RequestPage, RequestView, SystemView


class NoBackend:
    """Refuses every credential; the routes it is mounted with are only listed."""

    async def authenticate(self, authorization: str | None) -> Client:
        raise ApiProblem(Kind.UNAUTHENTICATED, "no backend")

    async def open(
        self, client: Client, key: str, body: OpenRequestBody
    ) -> tuple[RequestView, bool]:
        raise AssertionError("unreachable")

    async def get(self, client: Client, request_id: str) -> RequestView:
        raise AssertionError("unreachable")

    async def wait(
        self, client: Client, request_id: str, seen: str | None, seconds: float
    ) -> RequestView:
        raise AssertionError("unreachable")

    async def cancel(self, client: Client, request_id: str, reason: str) -> RequestView:
        raise AssertionError("unreachable")

    async def page(
        self,
        client: Client,
        status: str | None,
        system: str | None,
        activity: str | None,
        cursor: str | None,
    ) -> RequestPage:
        raise AssertionError("unreachable")

    async def events(self, client: Client, request_id: str) -> EventList:
        raise AssertionError("unreachable")

    async def system(self, client: Client, system_id: str) -> SystemView:
        raise AssertionError("unreachable")
