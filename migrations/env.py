"""Alembic environment: async engines, batch mode for SQLite, our metadata as the target.

Two ways in. `bot.storage.migrate` lends a connection through `config.attributes["connection"]`
from inside a running event loop; the `alembic` command (or `alembic.command` called where no
loop runs) gets an engine of its own, built from `sqlalchemy.url`. Either way the whole
upgrade is one transaction, so a failed step leaves the database at its previous revision.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url

from bot.storage.database import create_engine
from bot.storage.tables import metadata

config = context.config

# Tables that live in our database but that other libraries create and migrate themselves.
# Keep in step with bot.migrate.FOREIGN_TABLES (this file may import only bot.storage.tables and
# bot.storage.database).
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})

# Any constant works; it only has to be the same in every replica that migrates at start-up.
PG_MIGRATION_LOCK = 7_426_518_301


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, _compare: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


class ForeignKeyViolation(RuntimeError):
    """A migration left rows that break a foreign key (only SQLite can get this far)."""


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.name == "postgresql":
        # Replicas starting together would otherwise race to create the same tables; the
        # second waits here, then finds the schema current and does nothing.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
        include_object=include_object,
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        # Foreign keys are off during migrations (see below), so check what they would catch.
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise ForeignKeyViolation(f"foreign key violations after migrating: {broken}")


def _sqlite_foreign_keys_off(engine_url: str, sync_engine: Any) -> None:
    """Batch mode rebuilds a table by copy, drop and rename; with foreign keys on, dropping a
    table that other rows reference fails. SQLite ignores this pragma inside a transaction, so
    it is set as the connection opens (after our database module's connect hook turned it on)."""
    if make_url(engine_url).get_backend_name() != "sqlite":
        return

    @event.listens_for(sync_engine, "connect")
    def _off(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()


async def _run_with_own_engine() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url)
    _sqlite_foreign_keys_off(url, engine.sync_engine)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=make_url(url).get_backend_name() == "sqlite",
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    # bot.storage.migrate, inside a running event loop: a second asyncio.run would fail here.
    _run(shared)
else:
    asyncio.run(_run_with_own_engine())
