"""An API v1 open claims its Idempotency-Key and opens the request in one transaction, and
answers with the view of what it wrote: the view a GET reads afterwards, on SQLite and
PostgreSQL. A key and its request commit together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.api.problems import ApiProblem, Kind
from adapters.api.routes import Client
from adapters.api.schema import OpenRequestBody, RequestView
from bot.platforms.api import ApiShell, api_mount, fingerprint
from bot.platforms.api_watch import RequestWatch
from bot.services.api_oidc import NO_ID_TOKENS
from bot.services.api_tokens import TokenService
from bot.storage.api_clients import claim_key
from bot.storage.tables import api_requests, approval_requests
from tests.harness import Harness, actor, build_policy
from workflows.incidents import StartIncident

DIGEST = "sha256:" + "5e1a" * 16


def _with_client(raw: dict[str, Any]) -> None:
    raw["clients"] = {
        "support-agent": {"token": True, "may_request": {"support-bot": ["deploy", "refund"]}}
    }


def body(**changed: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {
        "system": "support-bot",
        "version": "4.0.1",
        "environment": "prod",
        "reason": "refund policy update",
        "artifact": {"digest": DIGEST, "uri": f"oci://registry.acme.example/bot@{DIGEST}"},
    }
    return {**sent, **changed}


@dataclass
class World:
    h: Harness
    shell: ApiShell
    client: Client
    http: TestClient[Any, Any]
    token: str

    async def open(self, key: str, sent: dict[str, Any] | None = None) -> tuple[RequestView, bool]:
        """An open through the shell, as the route makes it after parsing the body."""
        parsed = OpenRequestBody.model_validate(sent or body())
        return await self.shell.open(self.client, key, parsed)

    async def count(self, table: Any) -> int:
        async with self.h.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


@contextlib.asynccontextmanager
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    h = Harness(engine)
    h.policies.replace(build_policy(_with_client))
    token = await TokenService(h.uow).issue("support-agent")
    shell = ApiShell(h.runtime(), RequestWatch(engine), NO_ID_TOKENS)
    client = await shell.authenticate(f"Bearer {token}")
    app = web.Application()
    api_mount()(app, h.runtime())
    async with TestClient(TestServer(app)) as http:
        yield World(h, shell, client, http, token)


@dataclass
class Counted:
    transactions: int = 0
    statements: int = 0


@contextlib.contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counted]:
    """Transactions begun and statements sent through `engine` while the block runs."""
    counted = Counted()

    def began(*_: Any) -> None:
        counted.transactions += 1

    def sent(*_: Any) -> None:
        counted.statements += 1

    sync = engine.sync_engine
    event.listen(sync, "begin", began)
    event.listen(sync, "before_cursor_execute", sent)
    try:
        yield counted
    finally:
        event.remove(sync, "begin", began)
        event.remove(sync, "before_cursor_execute", sent)


async def test_the_open_answers_with_the_view_a_get_reads_afterwards(engine: AsyncEngine) -> None:
    async with world(engine) as w:
        headers = {"Authorization": f"Bearer {w.token}", "Idempotency-Key": "run-1"}
        opened = await w.http.post("/api/v1/requests", json=body(), headers=headers)
        assert opened.status == 201, await opened.text()
        view = await opened.json()
        read = await w.http.get(opened.headers["Location"], headers=headers)
        assert read.status == 200
        assert await read.json() == view
        assert opened.headers["ETag"] == read.headers["ETag"]
        entries = [e for e in await w.h.ledger() if e.subject_id == view["id"]]
        assert [e.action for e in entries] == ["requested"]
        assert view["ledger"] == {
            "first_seq": entries[0].seq,
            "last_seq": entries[-1].seq,
            "head_hash": entries[-1].hash,
        }
        assert view["artifact"]["digest"] == DIGEST

        # The same call again reads what the first one wrote: the same view, answered 200.
        again = await w.http.post("/api/v1/requests", json=body(), headers=headers)
        assert again.status == 200
        assert await again.json() == view and again.headers["ETag"] == opened.headers["ETag"]


# The open (past the token), one transaction: the key's claim, the open-incident check, the
# request row, whether the GitHub gate opened it, its three cards in the outbox (one
# statement), the ledger's head, its entry and the head's move; and SQLite's BEGIN IMMEDIATE,
# or PostgreSQL's advisory lock that orders the open with incidents. Nothing is read back.
OPEN_STATEMENTS = {"sqlite": 9, "postgresql": 9}


async def test_an_open_is_one_transaction_and_reads_nothing_back(engine: AsyncEngine) -> None:
    async with world(engine) as w:
        await w.open("warm-up")  # the first statements of a connection set it up
        with counting(engine) as counted:
            view, created = await w.open("run-1")
        assert created and view.status == "pending"
        assert counted.transactions == 1
        assert counted.statements == OPEN_STATEMENTS[engine.dialect.name]


async def test_a_key_answers_its_request_even_once_an_incident_freezes_the_system(
    engine: AsyncEngine,
) -> None:
    async with world(engine) as w:
        first, created = await w.open("run-1")
        assert created
        start = StartIncident(
            incident_id="I" + "0" * 12,
            number=0,
            actor=actor("soo"),
            system="support-bot",
            severity="sev3",
            summary="wrong refunds",
        )
        assert (await w.h.incidents.handle(start)).ok
        again, created = await w.open("run-1")
        assert (again.id, created) == (first.id, False)
        with pytest.raises(ApiProblem) as refused:
            await w.open("run-2")
        assert refused.value.kind is Kind.FROZEN
        assert await w.count(api_requests) == 1


async def test_a_refused_open_leaves_its_key_free_and_opens_nothing(engine: AsyncEngine) -> None:
    async with world(engine) as w:
        with pytest.raises(ApiProblem) as refused:
            await w.open("run-1", body(activity="retrain"))
        assert refused.value.kind is Kind.UNKNOWN_ACTIVITY
        assert await w.count(api_requests) == 0
        view, created = await w.open("run-1")
        assert created and view.status == "pending"


class Died(Exception):
    """The process dying at a crash point, as far as the transaction can tell."""


async def test_an_open_that_dies_before_its_commit_leaves_neither_key_nor_request(
    engine: AsyncEngine,
) -> None:
    async with world(engine) as w:

        def die(point: str) -> None:
            if point == "before_commit:open":
                raise Died(point)

        w.h.uow.crash = die
        with pytest.raises(Died):
            await w.open("run-1")
        assert await w.count(api_requests) == 0
        assert await w.count(approval_requests) == 0
        w.h.uow.crash = lambda point: None
        view, created = await w.open("run-1")
        assert created and view.status == "pending"


async def test_a_key_claimed_by_an_earlier_version_without_its_request_is_waited_on_then_freed(
    engine: AsyncEngine,
) -> None:
    """Before the key was claimed in the open's own transaction, a call that died between its
    claim and its open left a claim alone; such a row is in flight for 30 s, then freed."""
    async with world(engine) as w:
        sent = OpenRequestBody.model_validate(body())
        async with engine.begin() as conn:
            await claim_key(
                conn, "support-agent", "run-1", fingerprint(sent), "Rnever", "{}", w.h.clock()
            )
        with pytest.raises(ApiProblem) as waiting:
            await w.open("run-1")
        assert waiting.value.kind is Kind.IN_FLIGHT
        w.h.clock.advance(seconds=31)
        view, created = await w.open("run-1")
        assert created and view.id != "Rnever"


async def test_concurrent_calls_with_one_key_open_one_request(engine: AsyncEngine) -> None:
    async with world(engine) as w:

        async def one() -> tuple[str, int]:
            try:
                view, created = await w.open("burst")
            except ApiProblem as problem:
                assert problem.kind is Kind.IN_FLIGHT, problem
                return "", 409
            return view.id, 201 if created else 200

        answers = await asyncio.gather(*(one() for _ in range(8)))
        statuses = sorted(status for _, status in answers)
        assert statuses.count(201) == 1, statuses
        assert len({request_id for request_id, status in answers if status != 409}) == 1
        assert await w.count(approval_requests) == 1
        assert await w.count(api_requests) == 1
        created = next(request_id for request_id, status in answers if status == 201)
        replayed, _ = await w.open("burst")
        assert replayed.id == created
