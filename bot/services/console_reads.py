"""What the console reads: requests, their ledger entries, reviews, incidents and the ledger
itself, through storage, in short read-only transactions; imports no platform adapter.

Nothing here decides who may see a row: `console_access` does, over what these reads return.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from bot.audit.export import jsonl_line, read_rows
from bot.audit.verify import verify_database
from bot.services.unit_of_work import UnitOfWork
from bot.storage.anchors import Anchor, newest_anchor
from bot.storage.reviews import open_reviews
from bot.storage.tables import (
    api_requests,
    approval_requests,
    incidents,
    ledger_entries,
    ledger_head,
    outbox,
    risk_reviews,
)
from workflows.chain import Verification
from workflows.incidents import Incident
from workflows.ledger import GENESIS_HASH, format_time
from workflows.model import ApprovalRequest
from workflows.reviews import RiskReview

ENTRY_COLUMNS = (
    "seq",
    "at",
    "action",
    "actor_person",
    "actor_platform",
    "actor_platform_user_id",
    "subject_type",
    "subject_id",
    "data",
    "hash",
)


@dataclass(frozen=True)
class Entry:
    """One ledger entry as the console shows it; `data` parsed."""

    seq: int
    at: str
    action: str
    actor_person: str | None
    actor_platform: str
    actor_platform_user_id: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    hash: str


@dataclass(frozen=True)
class Delivery:
    """One outgoing message about a request: where, and whether it arrived."""

    platform: str
    destination: str
    status: str
    attempts: int
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class RequestRecord:
    """A request, its ledger entries in order, and what a client sent when it opened it."""

    state: ApprovalRequest
    entries: tuple[Entry, ...]
    client: str | None
    body: dict[str, Any]
    deliveries: tuple[Delivery, ...] = ()


def _entry(row: Any) -> Entry:
    fields = dict(row._mapping)
    try:
        data = json.loads(fields["data"])
    except ValueError:
        data = {}
    fields["data"] = data if isinstance(data, dict) else {}
    return Entry(**fields)


def _columns() -> list[Any]:
    return [ledger_entries.c[name] for name in ENTRY_COLUMNS]


@dataclass
class ConsoleReads:
    uow: UnitOfWork

    async def requests(
        self,
        status: str | None = None,
        limit: int = 200,
        systems: frozenset[str] | None = None,
        requester: str | None = None,
    ) -> list[ApprovalRequest]:
        """Requests newest first, optionally of one status, of `systems` (None: all) or asked
        by `requester`."""
        query = select(approval_requests.c.state).order_by(approval_requests.c.opened_at.desc())
        if status is not None:
            query = query.where(approval_requests.c.status == status)
        if systems is not None:
            among: ColumnElement[bool] = approval_requests.c.system.in_(sorted(systems))
            if requester is not None:
                among = or_(among, approval_requests.c.requester_person == requester)
            query = query.where(among)
        async with self.uow.reading() as conn:
            rows = await conn.execute(query.limit(limit))
            return [ApprovalRequest.model_validate_json(raw) for raw in rows.scalars()]

    async def request(self, request_id: str) -> RequestRecord | None:
        async with self.uow.reading() as conn:
            raw = (
                await conn.execute(
                    select(approval_requests.c.state).where(approval_requests.c.id == request_id)
                )
            ).scalar_one_or_none()
            if raw is None:
                return None
            entries = await conn.execute(
                select(*_columns())
                .where(
                    ledger_entries.c.subject_type == "request",
                    ledger_entries.c.subject_id == request_id,
                )
                .order_by(ledger_entries.c.seq)
            )
            sent = (
                await conn.execute(
                    select(api_requests.c.client, api_requests.c.body).where(
                        api_requests.c.request_id == request_id
                    )
                )
            ).first()
            timeline = tuple(_entry(row) for row in entries.all())
            sent_rows = await conn.execute(
                select(
                    outbox.c.platform,
                    outbox.c.destination_key,
                    outbox.c.status,
                    outbox.c.attempts,
                    outbox.c.sent_at,
                    outbox.c.last_error,
                )
                .where(outbox.c.request_id == request_id)
                .order_by(outbox.c.id)
            )
            deliveries = tuple(Delivery(*row) for row in sent_rows.all())
        body = json.loads(sent.body) if sent is not None else {}
        return RequestRecord(
            ApprovalRequest.model_validate_json(raw),
            timeline,
            sent.client if sent is not None else None,
            body if isinstance(body, dict) else {},
            deliveries,
        )

    async def states(self, request_ids: Sequence[str]) -> dict[str, ApprovalRequest]:
        if not request_ids:
            return {}
        async with self.uow.reading() as conn:
            rows = await conn.execute(
                select(approval_requests.c.state).where(
                    approval_requests.c.id.in_(list(set(request_ids)))
                )
            )
            found = [ApprovalRequest.model_validate_json(raw) for raw in rows.scalars()]
        return {state.id: state for state in found}

    async def reviews(self) -> list[RiskReview]:
        """Open reviews, soonest due first."""
        async with self.uow.reading() as conn:
            return await open_reviews(conn)

    async def all_reviews(self, limit: int = 5000) -> list[RiskReview]:
        """Reviews open and completed, the most recently due first."""
        query = select(risk_reviews.c.state).order_by(risk_reviews.c.due_at.desc()).limit(limit)
        async with self.uow.reading() as conn:
            rows = await conn.execute(query)
            return [RiskReview.model_validate_json(raw) for raw in rows.scalars()]

    async def machine_sources(self, limit: int = 5000) -> dict[str, str]:
        """Requests a client opened: `agent` when it sent an agent's context, else `pipeline`."""
        query = (
            select(api_requests.c.request_id, api_requests.c.body)
            .order_by(api_requests.c.created_at.desc())
            .limit(limit)
        )
        found: dict[str, str] = {}
        async with self.uow.reading() as conn:
            for request_id, body in (await conn.execute(query)).all():
                try:
                    sent = json.loads(body)
                except ValueError:
                    sent = {}
                context = sent.get("context") if isinstance(sent, dict) else None
                agent = isinstance(context, dict) and context.get("agent")
                found[request_id] = "agent" if agent else "pipeline"
        return found

    async def incidents(self, limit: int = 100) -> list[Incident]:
        """Incidents, open ones first, then the most recent."""
        query = (
            select(incidents.c.state)
            .order_by(incidents.c.open_system.is_(None), incidents.c.opened_at.desc())
            .limit(limit)
        )
        async with self.uow.reading() as conn:
            rows = await conn.execute(query)
            return [Incident.model_validate_json(raw) for raw in rows.scalars()]

    async def entries(
        self,
        since: datetime | None,
        until: datetime | None,
        action: str | None,
        limit: int = 200,
    ) -> list[Entry]:
        """The latest ledger entries in the period, newest first."""
        query = select(*_columns()).order_by(ledger_entries.c.seq.desc()).limit(limit)
        if since is not None:
            query = query.where(ledger_entries.c.at >= format_time(since))
        if until is not None:
            query = query.where(ledger_entries.c.at < format_time(until))
        if action:
            query = query.where(ledger_entries.c.action == action)
        async with self.uow.reading() as conn:
            return [_entry(row) for row in (await conn.execute(query)).all()]

    async def head(self) -> tuple[int, str]:
        """The chain's head as its row records it: (seq, hash)."""
        async with self.uow.reading() as conn:
            row = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
        return (row.seq, row.hash) if row is not None else (0, GENESIS_HASH)

    async def newest_anchor(self) -> Anchor | None:
        """The chain's newest anchor outside the database, if anchoring is configured."""
        async with self.uow.reading() as conn:
            return await newest_anchor(conn)

    async def verify(self) -> Verification:
        """Recompute the whole chain, in this process (the console must not fork workers)."""
        return await verify_database(self.uow.engine, workers=1)

    async def jsonl(self, since: datetime | None, until: datetime | None) -> AsyncIterator[str]:
        """The period's entries as `signoff audit export --format jsonl` writes them."""
        async for row in read_rows(self.uow.engine, since):
            if until is not None and row["at"] >= format_time(until):
                return
            yield jsonl_line(row)
