"""Reads and writes requests, votes, inbound deliveries and card locations; imports no adapters.

Every function works inside the caller's transaction on an `AsyncConnection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import approval_requests, inbound_deliveries, votes
from workflows.model import TERMINAL, ApprovalRequest, Vote

# The statements of every click, built once: building one costs more than SQLite running it,
# and a statement built once also keeps the cache key SQLAlchemy looks its compiled form up by.
_STATE = select(approval_requests.c.state).where(approval_requests.c.id == bindparam("id"))
_STATE_FOR_UPDATE = _STATE.with_for_update()
_REQUEST_COLUMNS = (
    "system", "activity", "status", "requester_person", "policy_digest", "revision",
    "opened_at", "next_due_at", "state", "updated_at",
)  # fmt: skip
_UPDATE_REQUEST = (
    update(approval_requests)
    .where(approval_requests.c.id == bindparam("request_id"))
    .values({name: bindparam(name) for name in _REQUEST_COLUMNS})
)
_INSERT_VOTES = insert(votes)
_CLAIM_DELIVERY = {
    name: dialect.insert(inbound_deliveries)
    .values(
        platform=bindparam("platform"),
        delivery_key=bindparam("delivery_key"),
        received_at=bindparam("received_at"),
    )
    .on_conflict_do_nothing()
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def next_due_at(state: ApprovalRequest) -> datetime | None:
    """The earliest moment the scheduler has something to do for this request."""
    if state.status in TERMINAL:
        return None
    moments = [state.expires_at, state.remind_at]
    if not state.escalated:
        moments.append(state.escalate_at)
    return min(m for m in moments if m is not None)


async def load_request(
    conn: AsyncConnection, request_id: str, *, for_update: bool = False
) -> ApprovalRequest | None:
    """The request's state; `for_update` takes its row lock on PostgreSQL.

    On SQLite the transaction already holds the write lock from BEGIN IMMEDIATE.
    """
    query = _STATE_FOR_UPDATE if for_update else _STATE
    raw = (await conn.execute(query, {"id": request_id})).scalar_one_or_none()
    return None if raw is None else ApprovalRequest.model_validate_json(raw)


async def claim_requests(
    conn: AsyncConnection, request_ids: Sequence[str]
) -> list[ApprovalRequest]:
    """Lock a page of requests for this transaction; rows locked elsewhere are skipped.

    A row a click holds is left for the next sweep; the click itself honours any deadline.
    """
    query = select(approval_requests.c.state).where(approval_requests.c.id.in_(list(request_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = await conn.execute(query.order_by(approval_requests.c.id))
    return [ApprovalRequest.model_validate_json(raw) for raw in rows.scalars()]


async def pending_requests(conn: AsyncConnection, limit: int = 500) -> list[ApprovalRequest]:
    """Pending requests, oldest first."""
    rows = await conn.execute(
        select(approval_requests.c.state)
        .where(approval_requests.c.status == "pending")
        .order_by(approval_requests.c.opened_at)
        .limit(limit)
    )
    return [ApprovalRequest.model_validate_json(raw) for raw in rows.scalars()]


async def opened_since(
    conn: AsyncConnection, person: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many requests `person` opened after `since`, and when the first of them was:
    what the per-person rate limit counts."""
    row = (
        await conn.execute(
            select(func.count(), func.min(approval_requests.c.opened_at)).where(
                approval_requests.c.requester_person == person,
                approval_requests.c.opened_at > since,
            )
        )
    ).one()
    return int(row[0] or 0), row[1]


def _request_row(new: ApprovalRequest, now: datetime) -> dict[str, Any]:
    return {
        "system": new.system,
        "activity": new.activity,
        "status": new.status.value,
        "requester_person": new.requester.person,
        "policy_digest": new.policy_digest,
        "revision": new.revision,
        "opened_at": new.opened_at,
        "next_due_at": next_due_at(new),
        "state": new.model_dump_json(),
        "updated_at": now,
    }


async def save_request(
    conn: AsyncConnection, old: ApprovalRequest | None, new: ApprovalRequest, now: datetime
) -> None:
    """Insert or update the request row and record any votes it gained."""
    row = _request_row(new, now)
    if old is None:
        await conn.execute(insert(approval_requests).values(id=new.id, **row))
    else:
        await conn.execute(_UPDATE_REQUEST, {"request_id": new.id, **row})
    await _record_votes(conn, old, new)


async def save_requests(
    conn: AsyncConnection, changes: Sequence[tuple[ApprovalRequest, ApprovalRequest]], now: datetime
) -> None:
    """Update many existing requests in one statement, then record any votes they gained."""
    if not changes:
        return
    rows = [{"request_id": new.id, **_request_row(new, now)} for _, new in changes]
    await conn.execute(_UPDATE_REQUEST, rows)
    for old, new in changes:
        await _record_votes(conn, old, new)


async def _record_votes(
    conn: AsyncConnection, old: ApprovalRequest | None, new: ApprovalRequest
) -> None:
    # The unique (request, person, stance) constraint makes a double count fail the transaction.
    recorded = {(v.person, stance) for v, stance in _stanced_votes(old)}
    rows = [
        {
            "request_id": new.id,
            "person": vote.person,
            "stance": stance,
            "verdict": vote.verdict.value,
            "platform": vote.platform,
            "at": vote.at,
            "comment": vote.comment,
        }
        for vote, stance in _stanced_votes(new)
        if (vote.person, stance) not in recorded
    ]
    if rows:
        await conn.execute(_INSERT_VOTES, rows)


def _stanced_votes(state: ApprovalRequest | None) -> list[tuple[Vote, str]]:
    """Every answer on a request with the stance it was given in."""
    if state is None:
        return []
    found = [(v, "approval") for v in state.approvals]
    found += [(v, "consultation") for v in state.consultations]
    if state.rejection is not None:
        found.append((state.rejection, "rejection"))
    return found


async def claim_delivery(conn: AsyncConnection, platform: str, key: str, now: datetime) -> bool:
    """Record an inbound delivery; False when it was seen before (a retry or a double click)."""
    statement = _CLAIM_DELIVERY["postgresql" if conn.dialect.name == "postgresql" else "sqlite"]
    values = {"platform": platform, "delivery_key": key[:255], "received_at": now}
    result = await conn.execute(statement, values)
    return bool(result.rowcount)
