"""Long-polls share their reads and still miss no change; a token's row is kept in memory only
briefly and forgotten when this process revokes it. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client
from adapters.api.schema import OpenRequestBody, RequestView
from bot.platforms.api import ApiShell
from bot.platforms.api_polls import Polls
from bot.platforms.api_views import request_view
from bot.platforms.api_watch import RequestWatch
from bot.services.api_oidc import NO_ID_TOKENS
from bot.services.api_reads import RequestRead, read_request
from bot.services.api_tokens import TokenService
from tests.harness import Harness, build_policy

WAITERS = 20
LONG = 3600.0  # no wait here ends by its time: each ends by a change, or the test fails


def _with_client(raw: dict[str, Any]) -> None:
    raw["clients"] = {"support-agent": {"token": True, "may_request": {"doc-search": ["deploy"]}}}


@dataclass
class Statements:
    sent: list[str] = field(default_factory=list)

    def reads_of_entries(self) -> int:
        """The ledger reads of one request: one per read of a request's view."""
        return sum("ledger_entries.subject_id" in s for s in self.sent)


@contextlib.contextmanager
def counting(engine: AsyncEngine) -> Iterator[Statements]:
    counted = Statements()

    def sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counted.sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", sent)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", sent)


@dataclass
class World:
    h: Harness
    watch: RequestWatch
    shell: ApiShell
    client: Client
    token: str
    request_id: str

    def view(self, read: RequestRead) -> RequestView:
        return request_view(read.state, read.body, read.entries, self.h.uow.clock())


# The trigger that notifies a request's changes on PostgreSQL, as the migrations install it
# (the test schema is made from the tables alone).
NOTIFYING = importlib.import_module("migrations.versions.0008_api_clients")


@contextlib.asynccontextmanager
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text(NOTIFYING.NOTIFY_FUNCTION))
            await conn.execute(text(NOTIFYING.NOTIFY_TRIGGER))
    h = Harness(engine)
    h.policies.replace(build_policy(_with_client))
    token = await TokenService(h.uow).issue("support-agent")
    watch = RequestWatch(engine)
    shell = ApiShell(h.runtime(), watch, NO_ID_TOKENS)
    client = await shell.authenticate(f"Bearer {token}")
    # Opened before the watch listens, so that no notice of the open itself comes later.
    body = {"system": "doc-search", "version": "1.0.0", "environment": "prod", "reason": "r"}
    view, _ = await shell.open(client, "run-1", OpenRequestBody.model_validate(body))
    async with contextlib.asynccontextmanager(watch.running)(None):
        for _ in range(500):  # PostgreSQL: changes are heard once the listener is up
            if watch.listening or not watch.postgres:
                break
            await asyncio.sleep(0.01)
        yield World(h, watch, shell, client, token, view.id)


async def test_a_change_made_while_the_first_read_is_under_way_wakes_the_waiter(
    engine: AsyncEngine,
) -> None:
    """The decision commits after the waiter's first read and before it waits: it is heard
    because the waiter was registered before reading, not when the wait ends."""
    async with world(engine) as w:
        request_id = w.request_id
        reads = 0

        async def reader(client: Client, asked: str) -> RequestRead:
            nonlocal reads
            reads += 1
            read = await read_request(w.h.uow, client.name, asked)
            assert read is not None
            if reads == 1:
                assert (await w.h.answer(asked, "mina")).ok
            return read

        polls = Polls(w.watch, reader, w.view)
        view = await asyncio.wait_for(polls.wait(w.client, request_id, None, LONG), 30)
        assert view.status == "approved"
        assert reads == 2


async def test_many_waiters_on_one_request_cost_one_read_per_change(engine: AsyncEngine) -> None:
    async with world(engine) as w:
        request_id = w.request_id
        with counting(engine) as before:
            first = asyncio.ensure_future(w.shell.wait(w.client, request_id, None, LONG))
            for _ in range(500):
                if before.reads_of_entries() and w.watch.current_waiters(request_id) == 1:
                    break
                await asyncio.sleep(0.01)
        assert before.reads_of_entries() == 1
        with counting(engine) as joining:
            waiters = [
                asyncio.ensure_future(w.shell.wait(w.client, request_id, None, LONG))
                for _ in range(WAITERS)
            ]
            for _ in range(500):
                if w.watch.current_waiters(request_id) == WAITERS + 1:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # any read of theirs would be sent by now
        assert w.watch.current_waiters(request_id) == WAITERS + 1
        assert joining.sent == []  # they share the first waiter's read
        with counting(engine) as deciding:
            assert (await w.h.answer(request_id, "mina")).ok
            views = await asyncio.wait_for(asyncio.gather(first, *waiters), 30)
        assert {view.status for view in views} == {"approved"}
        assert deciding.reads_of_entries() == 1


async def test_a_token_is_read_once_for_many_calls_and_refused_once_revoked_here(
    engine: AsyncEngine,
) -> None:
    async with world(engine) as w:
        with counting(engine) as calls:
            for _ in range(10):
                assert (await w.shell.authenticate(f"Bearer {w.token}")).name == "support-agent"
        assert len(calls.sent) <= 1  # its row was read moments ago, or once now
        await w.shell.gate.tokens.revoke("support-agent")
        with pytest.raises(ApiProblem) as refused:
            await w.shell.authenticate(f"Bearer {w.token}")
        assert refused.value.kind is Kind.UNAUTHENTICATED
