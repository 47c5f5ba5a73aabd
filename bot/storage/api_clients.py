"""API clients' rows: token hashes, signing secrets, the Idempotency-Keys that opened requests.

Imports no adapters. A token's secret is never stored, only its SHA-256: the secret is 256
random bits, so a slow password hash would add nothing. A callback signing secret is stored
as it is, since signing needs the key itself. Every function works in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.tables import (
    api_requests,
    api_signing_secrets,
    api_tokens,
    approval_requests,
    ledger_entries,
)
from workflows.model import ApprovalRequest


@dataclass(frozen=True)
class StoredToken:
    id: str
    client: str
    secret_hash: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


async def add_token(
    conn: AsyncConnection, token_id: str, client: str, secret_hash: str, now: datetime
) -> None:
    await conn.execute(
        insert(api_tokens).values(
            id=token_id, client=client, secret_hash=secret_hash, created_at=now
        )
    )


async def load_token(conn: AsyncConnection, token_id: str) -> StoredToken | None:
    row = (await conn.execute(select(api_tokens).where(api_tokens.c.id == token_id))).first()
    if row is None:
        return None
    return StoredToken(
        row.id, row.client, row.secret_hash, row.expires_at, row.revoked_at, row.last_used_at
    )


def _live(client: str, now: datetime) -> Any:
    return and_(
        api_tokens.c.client == client,
        api_tokens.c.revoked_at.is_(None),
        or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
    )


async def live_tokens(conn: AsyncConnection, client: str, now: datetime) -> list[str]:
    rows = await conn.execute(select(api_tokens.c.id).where(_live(client, now)))
    return list(rows.scalars())


async def expire_tokens(
    conn: AsyncConnection, client: str, now: datetime, at: datetime, *, revoke: bool = False
) -> list[str]:
    """End the client's live tokens at `at` (revoked: at once); the ids it ended."""
    ids = await live_tokens(conn, client, now)
    if ids:
        values = {"revoked_at": now} if revoke else {"expires_at": at}
        await conn.execute(update(api_tokens).where(api_tokens.c.id.in_(ids)).values(**values))
    return ids


async def mark_used(conn: AsyncConnection, token_id: str, now: datetime) -> None:
    await conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
    )


async def add_signing_secret(
    conn: AsyncConnection, secret_id: str, client: str, secret: str, now: datetime
) -> None:
    await conn.execute(
        insert(api_signing_secrets).values(
            id=secret_id, client=client, secret=secret, created_at=now
        )
    )


def _live_secret(client: str, now: datetime) -> Any:
    table = api_signing_secrets.c
    return and_(
        table.client == client,
        table.revoked_at.is_(None),
        or_(table.expires_at.is_(None), table.expires_at > now),
    )


async def signing_secrets(conn: AsyncConnection, client: str, now: datetime) -> list[str]:
    """The client's live signing secrets, newest first: every callback is signed with each."""
    query = (
        select(api_signing_secrets.c.secret)
        .where(_live_secret(client, now))
        .order_by(api_signing_secrets.c.created_at.desc(), api_signing_secrets.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def expire_signing_secrets(
    conn: AsyncConnection, client: str, now: datetime, at: datetime, *, revoke: bool = False
) -> list[str]:
    """End the client's live signing secrets at `at` (revoked: at once); the ids it ended."""
    found = await conn.execute(select(api_signing_secrets.c.id).where(_live_secret(client, now)))
    ids = list(found.scalars())
    if ids:
        values = {"revoked_at": now} if revoke else {"expires_at": at}
        await conn.execute(
            update(api_signing_secrets).where(api_signing_secrets.c.id.in_(ids)).values(**values)
        )
    return ids


async def callback_bodies(
    conn: AsyncConnection, request_ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """(client, body) of each of these requests that a client opened through API v1."""
    query = select(api_requests.c.request_id, api_requests.c.client, api_requests.c.body).where(
        api_requests.c.request_id.in_(sorted(set(request_ids)))
    )
    return {row.request_id: (row.client, row.body) for row in await conn.execute(query)}


# Built once: every open claims a key, and a statement with its values inlined costs more to
# build and cache-key than the round trip it makes.
_CLAIM = insert(api_requests)


@dataclass(frozen=True)
class KeyRow:
    """An Idempotency-Key a client used: the body it came with and the request it chose."""

    fingerprint: str
    request_id: str
    created_at: datetime
    body: str


async def claim_key(
    conn: AsyncConnection,
    client: str,
    key: str,
    fingerprint: str,
    request_id: str,
    body: str,
    now: datetime,
) -> None:
    """Insert the key; a second call with the same key fails on the primary key."""
    row = {
        "client": client,
        "idempotency_key": key,
        "fingerprint": fingerprint,
        "request_id": request_id,
        "body": body,
        "created_at": now,
    }
    await conn.execute(_CLAIM, row)


async def load_key(conn: AsyncConnection, client: str, key: str) -> KeyRow | None:
    row = (
        await conn.execute(
            select(api_requests).where(
                api_requests.c.client == client, api_requests.c.idempotency_key == key
            )
        )
    ).first()
    if row is None:
        return None
    return KeyRow(row.fingerprint, row.request_id, row.created_at, row.body)


async def release_key(conn: AsyncConnection, client: str, key: str) -> None:
    """Forget a key whose request was never opened, so the same call may be tried again."""
    await conn.execute(
        delete(api_requests).where(
            api_requests.c.client == client, api_requests.c.idempotency_key == key
        )
    )


async def body_of(conn: AsyncConnection, client: str, request_id: str) -> str | None:
    """What `client` sent when it opened `request_id`; None when it is not the client's."""
    return (
        await conn.execute(
            select(api_requests.c.body).where(
                api_requests.c.client == client, api_requests.c.request_id == request_id
            )
        )
    ).scalar_one_or_none()


async def client_requests(
    conn: AsyncConnection,
    client: str,
    filters: dict[str, str],
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[tuple[ApprovalRequest, str, datetime]]:
    """The client's requests, newest first, after the cursor `after`: state, body, opened."""
    query = (
        select(approval_requests.c.state, api_requests.c.body, api_requests.c.created_at)
        .join(approval_requests, approval_requests.c.id == api_requests.c.request_id)
        .where(api_requests.c.client == client)
    )
    for column, value in filters.items():
        query = query.where(approval_requests.c[column] == value)
    if after is not None:
        at, request_id = after
        query = query.where(
            or_(
                api_requests.c.created_at < at,
                and_(api_requests.c.created_at == at, api_requests.c.request_id < request_id),
            )
        )
    query = query.order_by(api_requests.c.created_at.desc(), api_requests.c.request_id.desc())
    rows = await conn.execute(query.limit(limit))
    return [
        (ApprovalRequest.model_validate_json(state), body, at) for state, body, at in rows.all()
    ]


async def request_entries(conn: AsyncConnection, request_id: str) -> Sequence[Any]:
    """The ledger entries about one request, in `seq` order (a few dozen at most)."""
    query = (
        select(
            ledger_entries.c.seq,
            ledger_entries.c.at,
            ledger_entries.c.action,
            ledger_entries.c.actor_person,
            ledger_entries.c.actor_platform,
            ledger_entries.c.actor_platform_user_id,
            ledger_entries.c.hash,
        )
        .where(
            ledger_entries.c.subject_type == "request", ledger_entries.c.subject_id == request_id
        )
        .order_by(ledger_entries.c.seq)
    )
    return (await conn.execute(query)).all()
