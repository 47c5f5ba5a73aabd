"""Requests from before activities had names: a database of the previous schema, holding
requests and ledger entries as the code of then wrote them, upgrades; its ledger verifies
unchanged, its requests are deployments, and a pending one still decides."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import create_engine
from bot.storage.ledger import append_events
from bot.storage.migrate import upgrade
from bot.storage.tables import UtcDateTime, approval_requests, ledger_entries
from tests.harness import T0, Harness, actor, build_policy
from workflows.commands import OpenRequest
from workflows.ledger import AuditEvent
from workflows.machine import step
from workflows.model import Status

PREVIOUS = "0006"

# approval_requests as the previous revision left it: no activity column.
requests_before = Table(
    "approval_requests",
    MetaData(),
    Column("id", String(40), primary_key=True),
    Column("system", String(64)),
    Column("status", String(16)),
    Column("requester_person", String(64)),
    Column("policy_digest", String(64)),
    Column("revision", Integer),
    Column("opened_at", UtcDateTime),
    Column("next_due_at", UtcDateTime),
    Column("state", Text),
    Column("updated_at", UtcDateTime),
)


def _state_as_written_before(request_id: str, status: Status) -> dict[str, Any]:
    """A request's stored state as the code before activities wrote it: no `activity` key."""
    opened = step(
        None,
        OpenRequest(request_id=request_id, actor=actor("soo"), system="doc-search", version="1.4"),
        build_policy(),
        T0,
        "d" * 64,
    )
    assert opened.state is not None
    state: dict[str, Any] = json.loads(opened.state.model_dump_json())
    del state["activity"]
    state["status"] = status.value
    return state


async def _fill_previous_schema(engine: AsyncEngine) -> None:
    rows = []
    for request_id, status in (("R0PENDING01", Status.PENDING), ("R0DONE00001", Status.CANCELLED)):
        state = _state_as_written_before(request_id, status)
        rows.append(
            {
                "id": request_id,
                "system": "doc-search",
                "status": status.value,
                "requester_person": "soo",
                "policy_digest": "d" * 64,
                "revision": 1,
                "opened_at": T0,
                "next_due_at": T0 if status is Status.PENDING else None,
                "state": json.dumps(state),
                "updated_at": T0,
            }
        )
    # The ledger entries of then: their data names no activity.
    events = [
        AuditEvent(
            action=action,
            subject_type="request",
            subject_id=request_id,
            actor=actor("soo"),
            data={"system": "doc-search", "version": "1.4"} if action == "requested" else {},
        )
        for request_id, action in (
            ("R0PENDING01", "requested"),
            ("R0DONE00001", "requested"),
            ("R0DONE00001", "cancelled"),
        )
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(requests_before), rows)
        await append_events(conn, events, T0, "d" * 64)


async def test_requests_of_the_previous_schema_become_deployments_and_still_decide(
    empty_database_url: str,
) -> None:
    await upgrade(empty_database_url, PREVIOUS)
    engine = create_engine(empty_database_url)
    try:
        await _fill_previous_schema(engine)
        async with engine.connect() as conn:
            before = (await conn.execute(select(ledger_entries))).all()
        await upgrade(empty_database_url)

        h = Harness(engine)
        async with engine.connect() as conn:
            after = (await conn.execute(select(ledger_entries))).all()
            found = await conn.execute(select(approval_requests.c.id, approval_requests.c.activity))
            activities = {row.id: row.activity for row in found}
        assert after == before
        assert await h.chain_ok()
        assert activities == {"R0PENDING01": "deploy", "R0DONE00001": "deploy"}

        pending = await h.state("R0PENDING01")
        assert (pending.activity, pending.status) == ("deploy", Status.PENDING)
        decided = await h.answer("R0PENDING01", "mina")
        assert decided.code == "approved", decided
        assert decided.message.startswith("Request R0PENDING01 to deploy doc-search 1.4 was")
        assert (await h.state("R0PENDING01")).status is Status.APPROVED
        assert await h.chain_ok()
        approved = (await h.ledger())[-1]
        assert (approved.action, approved.data["activity"]) == ("approved", "deploy")
    finally:
        await engine.dispose()
