"""Runs Alembic migrations in code (no alembic.ini) and checks models against the database.

Imports no adapters. Usable from inside a running event loop: Alembic runs on a connection
we lend it through `run_sync`, never under a second `asyncio.run`. The whole upgrade is one
transaction; on PostgreSQL an advisory lock (taken in migrations/env.py) lets several replicas
start at once, and on SQLite `BEGIN IMMEDIATE` does the same. Within one process, upgrades
run one at a time: Alembic's `context` and `op` are process-wide proxies that two interleaved
upgrades would overwrite.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from bot.storage.database import create_engine, is_sqlite, normalise_url
from bot.storage.tables import metadata

log = logging.getLogger("signoff.db")

# Tables in our database that other libraries create and migrate; drift checks ignore them.
# migrations/env.py keeps its own copy (it may import only bot.storage's tables and database).
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})

# Per event loop: an asyncio.Lock must not be shared between loops (each test has its own).
_upgrade_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for `database_url`, pointing at the installed migrations."""
    config = Config()
    # __path__ rather than __file__: typed as a str, and right for an installed package too.
    config.set_main_option("script_location", str(Path(next(iter(migrations.__path__)))))
    # Config interpolates %; a URL-encoded password contains one.
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest revision the installed migrations know."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _log_step(
    ctx: MigrationContext,
    step: MigrationInfo,
    heads: Collection[Any],
    run_args: Mapping[str, Any],
) -> None:
    # Typed as a bare Revision, but Alembic hands us its Script subclass, which has the doc.
    doc = getattr(step.up_revision, "doc", "") or ""
    before = ", ".join(step.source_revision_ids) or "empty"
    log.info("database migrated from %s to %s: %s", before, step.up_revision_id, doc)


def _migration_engine(database_url: str) -> AsyncEngine:
    engine = create_engine(database_url)
    if is_sqlite(engine):
        # Batch mode rebuilds tables by copy, drop and rename, which foreign keys would refuse
        # for a referenced table; env.py runs `PRAGMA foreign_key_check` before we commit.
        # The pragma is ignored inside a transaction, so it goes in as the connection opens,
        # after bot.storage.database's own hook has turned foreign keys on.
        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.close()

    return engine


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate to `revision` in one transaction, logging each step applied."""
    config = alembic_config(database_url)
    config.attributes["on_version_apply"] = _log_step

    def run(sync_conn: Connection) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, revision)

    lock = _upgrade_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    engine = _migration_engine(database_url)
    try:
        # Begun before Alembic sees the connection, so that it runs every step inside our
        # transaction; otherwise it commits after each step on SQLite (which it treats as having
        # no transactional DDL), and a failed step would leave a half-migrated file.
        async with lock, engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


def _current(sync_conn: Connection) -> str | None:
    return MigrationContext.configure(sync_conn).get_current_revision()


async def current_revision(database_url: str) -> str | None:
    """The database's revision, or None when it was never migrated."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        await engine.dispose()


def _include(obj: Any, name: str | None, type_: str, reflected: bool, _compare: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _name(obj: Any) -> str:
    table = getattr(obj, "table", None)
    name = getattr(obj, "name", None) or "(unnamed)"
    return f"{name} on {table.name}" if table is not None else str(name)


def describe(diff: Any) -> str:
    """One line for one item of `compare_metadata`'s answer.

    The operation names what a new migration would do to bring the database to the models:
    `remove_column outbox.stray` means the database has a column the models do not.
    """
    if isinstance(diff, list):
        return "; ".join(describe(item) for item in diff)
    op = diff[0]
    if op in ("add_column", "remove_column"):
        _, _schema, table, column = diff
        return f"{op} {table}.{column.name}"
    if op.startswith("modify_"):
        _, _schema, table, column, _existing, old, new = diff
        return f"{op} {table}.{column}: database {old!r}, models {new!r}"
    if op in ("add_table", "remove_table"):
        return f"{op} {diff[1].name}"
    if len(diff) == 2:
        return f"{op} {_name(diff[1])}"
    return repr(diff)


async def check_drift(database_url: str) -> list[str]:
    """Differences between the migrated database and the models; empty when they agree."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(
                    sync_conn, opts={"compare_type": True, "include_object": _include}
                )
                return list(compare_metadata(context, metadata))

            diffs = await conn.run_sync(compare)
    finally:
        await engine.dispose()
    return [describe(diff) for diff in diffs]
