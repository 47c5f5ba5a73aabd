"""What API v1 reads to show one request: the body its client opened it with, its state and its
ledger entries, in one connection. Imports storage only, no platform adapter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.services.unit_of_work import UnitOfWork, unavailable_on_outage
from bot.storage.api_clients import body_of, request_entries
from bot.storage.requests import load_request
from workflows.model import ApprovalRequest


@dataclass(frozen=True)
class RequestRead:
    """A request as one read found it; its view can be made from this at any time."""

    state: ApprovalRequest
    body: str
    entries: Sequence[Any]


async def read_request(uow: UnitOfWork, client: str, request_id: str) -> RequestRead | None:
    """The request, when `client` opened it; None otherwise. An outage is `ServiceUnavailable`."""
    async with unavailable_on_outage("read-request"), uow.reading() as conn:
        body = await body_of(conn, client, request_id)
        if body is None:
            return None
        state = await load_request(conn, request_id)
        if state is None:
            return None
        entries = await request_entries(conn, request_id)
    return RequestRead(state, body, entries)
