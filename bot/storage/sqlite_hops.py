"""SQLite statements run on the event loop's own thread, not handed to aiosqlite's; imports
nothing of ours.

aiosqlite runs every call on the connection's thread, and SQLAlchemy's adapter makes four
such calls for a statement (open a cursor, execute, fetch, close) and one for a commit, each a
hand-off to that thread and a wake-up of the event loop. A decision's statements cost SQLite
a few hundred microseconds in all; the hand-offs cost several times that. Here a statement,
its rows and the commit run where they are called, and what the statement left (rows,
description, row count, last row id) is kept for SQLAlchemy to read. The statements, their
order, their transactions and their errors are the same.

Waiting must never block the loop: the connection's busy timeout is zero, so a statement that
meets another process's lock (a CLI command beside `serve`) fails at once with SQLITE_BUSY,
and only then is it run again on aiosqlite's thread with the full timeout, where waiting
costs the loop nothing. Server-side cursors (`stream`) keep the adapter's own, on the thread.

It leans on private hooks: SQLAlchemy's cursor class of the aiosqlite connection, and
aiosqlite's `_execute` and `_conn`. They are checked when the engine connects, so a changed
library falls back to the plain adapter instead of failing.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# How long a statement that met another process's lock waits for it, on aiosqlite's thread.
BUSY_TIMEOUT_MS = 10_000
# What the connection needs to be used here as well as on aiosqlite's thread.
CONNECT_ARGS: dict[str, Any] = {"check_same_thread": False, "timeout": 0}
_WAITED_FOR = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Ran(NamedTuple):
    """What a statement left on its cursor."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]
    arraysize: int = 1


_NOTHING_RUN = _Ran(None, -1, None, [])


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return _Ran(description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _waiting(conn: sqlite3.Connection, work: Callable[[], Any]) -> Any:  # on aiosqlite's thread
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        return work()
    finally:
        conn.execute("PRAGMA busy_timeout=0")


def _met_a_lock(error: BaseException) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _WAITED_FOR


async def _here_or_waiting(adapt_connection: Any, work: Callable[[sqlite3.Connection], Any]) -> Any:
    """`work` on this thread; if it met another process's lock, again on aiosqlite's thread
    with the busy timeout (a failed statement changed nothing, so it may run again). A
    coroutine that never suspends unless it waits: SQLAlchemy's async connection checks that
    each statement went through one."""
    driver: Any = adapt_connection._connection  # aiosqlite's
    conn: sqlite3.Connection = driver._conn
    try:
        return work(conn)
    except sqlite3.OperationalError as error:
        if not _met_a_lock(error):
            raise
    return await driver._execute(_waiting, conn, lambda: work(conn))


class HereCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement run on the calling thread."""

    __slots__ = ()

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _NOTHING_RUN  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor = self._cursor._replace(arraysize=value)  # type: ignore[attr-defined]

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        try:
            ran: _Ran = await_(
                _here_or_waiting(
                    self._adapt_connection, lambda conn: _run(conn, operation, parameters, many)
                )
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._cursor = ran  # type: ignore[assignment]
        self._rows = collections.deque(ran.rows)

    async def _async_soft_close(self) -> None:
        return None  # nothing is left open between statements

    def close(self) -> None:
        self._rows.clear()


class HereConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection whose statements, commits and rollbacks run here."""

    __slots__ = ()
    _cursor_cls = HereCursor

    def commit(self) -> None:
        self._finish(sqlite3.Connection.commit)

    def rollback(self) -> None:
        self._finish(sqlite3.Connection.rollback)

    def _finish(self, how: Callable[[sqlite3.Connection], None]) -> None:
        if self._connection._connection is None:  # closed: as the adapter, nothing to do
            return
        try:
            await_(_here_or_waiting(self, how))
        except Exception as error:
            self._handle_exception(error)


def run_here(dbapi_connection: Any) -> bool:
    """Make an aiosqlite connection of SQLAlchemy's run its statements on the calling thread;
    False (and nothing changed) when the connection or the libraries are not what this was
    written for, or the connection was opened without `CONNECT_ARGS`."""
    if type(dbapi_connection) is not AsyncAdapt_aiosqlite_connection:
        return False
    driver = getattr(dbapi_connection, "_connection", None)
    if not callable(getattr(driver, "_execute", None)) or not hasattr(type(driver), "_conn"):
        return False
    conn = getattr(driver, "_connection", None)
    if not isinstance(conn, sqlite3.Connection):
        return False
    try:  # refused when opened with check_same_thread (another thread's connection)
        conn.execute("PRAGMA busy_timeout=0")
    except sqlite3.ProgrammingError:
        return False
    dbapi_connection.__class__ = HereConnection
    return True
