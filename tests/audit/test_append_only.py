"""AUD-06: ledger entries and anchors refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)
after migration, and in a schema made by `create_all`; appending still works. On PostgreSQL
the application's role, which does not own the tables, may not change them or unguard them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.verify import verify_database
from bot.storage.anchors import Anchor, insert_anchors
from bot.storage.database import create_engine
from bot.storage.ledger import append_events
from bot.storage.migrate import upgrade
from bot.storage.tables import ledger_head
from tests.audit.attacker import lift_guards
from workflows.ledger import AuditEvent
from workflows.model import Actor

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor(person="mina", platform="slack", platform_user_id="U0MINA")
REFUSED = [
    "UPDATE ledger_entries SET action = 'rejected' WHERE seq = 1",
    "UPDATE ledger_entries SET seq = seq + 100",
    "DELETE FROM ledger_entries WHERE seq = 2",
    "DELETE FROM ledger_entries",
    "UPDATE ledger_anchors SET hash = 'f' WHERE seq = 2",
    "DELETE FROM ledger_anchors",
]


def _events(count: int) -> list[AuditEvent]:
    return [
        AuditEvent(
            action="approved", subject_type="request", subject_id=f"R{n}", actor=ACTOR, data={}
        )
        for n in range(count)
    ]


async def _filled(url: str) -> AsyncEngine:
    engine = create_engine(url)
    async with engine.begin() as conn:
        sealed = await append_events(conn, _events(3), T0, "d" * 64)
        anchor = Anchor(2, sealed[1].hash, "http://tsa.example/", "t", b"token", "a" * 64)
        await insert_anchors(conn, [anchor], T0)
    return engine


async def _assert_refused(engine: AsyncEngine, statements: list[str]) -> None:
    for statement in statements:
        with pytest.raises(DBAPIError) as refused:
            async with engine.begin() as conn:
                await conn.execute(text(statement))
        assert "append-only" in str(refused.value), statement
    result = await verify_database(engine)
    assert result.ok and result.checked == 3


async def test_aud_06_migrated_ledger_refuses_update_and_delete(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    engine = await _filled(empty_database_url)
    try:
        extra = ["TRUNCATE ledger_entries", "TRUNCATE ledger_anchors"]
        await _assert_refused(engine, REFUSED + (extra if engine.dialect.name != "sqlite" else []))
        # Appending goes on: the head row is not guarded, only history.
        async with engine.begin() as conn:
            await append_events(conn, _events(2), T0, "d" * 64)
            head = (await conn.execute(select(ledger_head.c.seq))).scalar_one()
        assert head == 5 and (await verify_database(engine)).ok
    finally:
        await engine.dispose()


async def test_aud_06_create_all_guards_the_same_tables(database_url: str) -> None:
    engine = await _filled(database_url)
    try:
        await _assert_refused(engine, REFUSED)
    finally:
        await engine.dispose()


async def test_the_owner_can_still_drop_the_guards(database_url: str) -> None:
    """What the triggers do not stop, and why the chain is anchored outside the database."""
    engine = await _filled(database_url)
    try:
        async with engine.begin() as conn:
            await lift_guards(conn)
            await conn.execute(text("DELETE FROM ledger_entries WHERE seq = 3"))
        async with engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM ledger_entries"))).scalar()
        assert left == 2
    finally:
        await engine.dispose()


async def test_aud_06_the_app_role_appends_but_cannot_change_or_unguard(postgres_url: str) -> None:
    """The roles of docs/operations.md: the application's role is not the tables' owner."""
    await upgrade(postgres_url)
    role = f"signoff_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(postgres_url)
    grants = [
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, ledger_anchors FROM {role}",
    ]
    async with owner.begin() as conn:
        for statement in grants:
            await conn.execute(text(statement))
    app = create_engine(make_url(postgres_url).set(username=role).render_as_string(False))
    try:
        appended = await _filled_by(app)
        assert appended == 3
        for statement, refusal in [
            ("UPDATE ledger_entries SET action = 'rejected'", "permission denied"),
            ("DELETE FROM ledger_entries", "permission denied"),
            ("TRUNCATE ledger_entries", "permission denied"),
            ("DELETE FROM ledger_anchors", "permission denied"),
            ("ALTER TABLE ledger_entries DISABLE TRIGGER ALL", "must be owner"),
        ]:
            with pytest.raises(DBAPIError) as refused:
                async with app.begin() as conn:
                    await conn.execute(text(statement))
            assert refusal in str(refused.value), statement
        # The owner meets the trigger instead.
        with pytest.raises(DBAPIError, match="append-only"):
            async with owner.begin() as conn:
                await conn.execute(text("TRUNCATE ledger_entries"))
        assert (await verify_database(owner)).ok
    finally:
        await app.dispose()
        async with owner.begin() as conn:
            await conn.execute(text(f"DROP OWNED BY {role}"))
        await owner.dispose()
        await _drop_role(postgres_url, role)


async def _filled_by(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        sealed = await append_events(conn, _events(3), T0, "d" * 64)
        anchor = Anchor(2, sealed[1].hash, "http://tsa.example/", "t", b"token", "b" * 64)
        await insert_anchors(conn, [anchor], T0)
    return len(sealed)


async def _drop_role(url: str, role: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    finally:
        await engine.dispose()
