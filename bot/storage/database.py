"""The async SQLAlchemy engine: URL normalisation, SQLite pragmas, write transactions.

Imports no adapters. Every SQLite transaction starts with `BEGIN IMMEDIATE`, so a decision
holds the single write lock from its first read; PostgreSQL locks rows with `FOR UPDATE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.storage.sqlite_hops import BUSY_TIMEOUT_MS, CONNECT_ARGS, run_here


def normalise_url(url: str) -> str:
    """Accept the URLs hosts hand out (`postgres://`) and give each engine its async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_outage(error: BaseException) -> bool:
    """Lost or refused connections, as opposed to a bug such as a broken constraint."""
    if isinstance(error, OSError | OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, reader: bool = False, **options: Any) -> AsyncEngine:
    """An engine for `url`; on SQLite with WAL, a busy timeout and immediate transactions,
    or, for a `reader` that never writes, deferred ones that leave the write lock alone."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # One connection per process: every transaction takes SQLite's single write lock
        # anyway (BEGIN IMMEDIATE), and queueing for it in the pool is an asyncio wait,
        # where contending for the file lock means the busy handler's sleeps and, under
        # load, "database is locked" after the timeout. Other processes (a CLI command
        # beside `serve`) still meet the busy timeout.
        connect_args = {**CONNECT_ARGS, **options.pop("connect_args", {})}
        options = {"pool_size": 1, "max_overflow": 0, "connect_args": connect_args, **options}
        engine = create_async_engine(url, **options)
        _configure_sqlite(engine, "BEGIN" if reader else "BEGIN IMMEDIATE")
        return engine
    return create_async_engine(url, pool_pre_ping=True, **options)


def _configure_sqlite(engine: AsyncEngine, begin: str) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Before the first statement, which then runs here too; a statement that meets
        # another process's lock waits for it on aiosqlite's thread (`sqlite_hops`).
        here = run_here(dbapi_connection)
        # Take transaction control from the driver so we can issue BEGIN IMMEDIATE ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not here:
            # The timeout first: switching a new file to WAL takes a lock that other
            # processes opening it at the same moment must wait for, not fail on.
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if make_url(str(sync_engine.url)).database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


async def driver_rows(conn: AsyncConnection, query: Select[Any]) -> Sequence[Sequence[Any]]:
    """The rows of `query` straight from the driver, as its own tuples or records: for reads
    of millions of rows, where SQLAlchemy's row objects would double the time."""
    compiled = query.compile(dialect=conn.dialect)
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "sqlite":
        return list(await driver.execute_fetchall(str(compiled), params))
    return list(await driver.fetch(str(compiled), *params))


def safe_url(url: str) -> str:
    """The database URL as it may be logged: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
