"""Reads and writes risk reviews inside the caller's transaction; imports no adapters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import risk_reviews
from workflows.policy import Policy
from workflows.reviews import ReviewStatus, RiskReview, chased, next_moment


def _row(review: RiskReview, policy: Policy, now: datetime) -> dict[str, Any]:
    is_open = review.status is ReviewStatus.DUE
    return {
        "system": review.system,
        "open_system": review.system if is_open else None,
        "status": review.status.value,
        "revision": review.revision,
        "due_at": review.due_at,
        "next_at": next_moment(review, policy),
        "state": review.model_dump_json(),
        "updated_at": now,
    }


async def load_review(
    conn: AsyncConnection, review_id: str, *, for_update: bool = False
) -> RiskReview | None:
    query = select(risk_reviews.c.state).where(risk_reviews.c.id == review_id)
    if for_update:
        query = query.with_for_update()
    raw = (await conn.execute(query)).scalar_one_or_none()
    return None if raw is None else RiskReview.model_validate_json(raw)


async def claim_reviews(conn: AsyncConnection, review_ids: Sequence[str]) -> list[RiskReview]:
    """Lock a page of reviews for this transaction; rows another sweep holds are skipped.

    On SQLite the transaction already holds the database's write lock (BEGIN IMMEDIATE).
    """
    query = select(risk_reviews.c.state).where(risk_reviews.c.id.in_(list(review_ids)))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = await conn.execute(query.order_by(risk_reviews.c.id))
    return [RiskReview.model_validate_json(raw) for raw in rows.scalars()]


async def save_reviews(
    conn: AsyncConnection, reviews: Sequence[RiskReview], policy: Policy, now: datetime
) -> None:
    """Update many reviews in one statement."""
    if not reviews:
        return
    rows = [{"review_id": r.id, **_row(r, policy, now)} for r in reviews]
    statement = (
        update(risk_reviews)
        .where(risk_reviews.c.id == bindparam("review_id"))
        .values({name: bindparam(name) for name in rows[0] if name != "review_id"})
    )
    await conn.execute(statement, rows)


async def open_review_of(conn: AsyncConnection, system: str) -> RiskReview | None:
    query = select(risk_reviews.c.state).where(risk_reviews.c.open_system == system)
    raw = (await conn.execute(query)).scalar_one_or_none()
    return None if raw is None else RiskReview.model_validate_json(raw)


async def open_reviews(conn: AsyncConnection) -> list[RiskReview]:
    rows = await conn.execute(
        select(risk_reviews.c.state)
        .where(risk_reviews.c.open_system.is_not(None))
        .order_by(risk_reviews.c.due_at)
    )
    return [RiskReview.model_validate_json(raw) for raw in rows.scalars()]


async def systems_with_open_reviews(conn: AsyncConnection) -> set[str]:
    rows = await conn.execute(
        select(risk_reviews.c.open_system).where(risk_reviews.c.open_system.is_not(None))
    )
    return {str(s) for s in rows.scalars()}


async def due_review_ids(conn: AsyncConnection, now: datetime, after: str, limit: int) -> list[str]:
    """Open reviews with something due at `now`, by id, after `after` (keyset pages)."""
    rows = await conn.execute(
        select(risk_reviews.c.id)
        .where(
            risk_reviews.c.next_at <= now,
            risk_reviews.c.open_system.is_not(None),
            risk_reviews.c.id > after,
        )
        .order_by(risk_reviews.c.id)
        .limit(limit)
    )
    return [str(i) for i in rows.scalars()]


async def insert_new_reviews(
    conn: AsyncConnection, reviews: Sequence[RiskReview], policy: Policy, now: datetime
) -> set[str]:
    """Insert reviews for systems without an open one; returns the ids actually inserted.

    A concurrent sweep may have scheduled some of them first: the unique `open_system`
    makes those inserts do nothing rather than fail.
    """
    if not reviews:
        return set()
    rows = [{"id": r.id, **_row(r, policy, now)} for r in reviews]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(risk_reviews)
        .on_conflict_do_nothing(index_elements=["open_system"])
        .returning(risk_reviews.c.id)
    )
    inserted: set[str] = set()
    for start in range(0, len(rows), 500):
        result = await conn.execute(statement, rows[start : start + 500])
        inserted.update(str(i) for i in result.scalars())
    return inserted


async def save_review(
    conn: AsyncConnection, review: RiskReview, policy: Policy, now: datetime
) -> None:
    await conn.execute(
        update(risk_reviews)
        .where(risk_reviews.c.id == review.id)
        .values(**_row(review, policy, now))
    )


async def add_review(
    conn: AsyncConnection, review: RiskReview, policy: Policy, now: datetime
) -> None:
    await conn.execute(insert(risk_reviews).values(id=review.id, **_row(review, policy, now)))


async def rearm_reviews(conn: AsyncConnection, policy: Policy, now: datetime) -> int:
    """Open reviews left without a next moment whose system the policy now chases."""
    chased_systems = [s for s in policy.systems if chased(policy, s)]
    if not chased_systems:
        return 0
    rows = await conn.execute(
        select(risk_reviews.c.state).where(
            risk_reviews.c.open_system.in_(chased_systems), risk_reviews.c.next_at.is_(None)
        )
    )
    reviews = [RiskReview.model_validate_json(raw) for raw in rows.scalars()]
    rearmed = [r for r in reviews if next_moment(r, policy) is not None]
    for review in rearmed:
        await save_review(conn, review, policy, now)
    return len(rearmed)
