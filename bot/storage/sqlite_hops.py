"""One trip to SQLite's thread per statement instead of four; imports nothing of ours.

aiosqlite runs every call on the connection's own thread, and SQLAlchemy's adapter makes four
such calls for a statement (open a cursor, execute, fetch, close), each a hand-off to that
thread and a wake-up of the event loop: with a dozen statements a decision, the hand-offs
cost more CPU than SQLite's work. This cursor does all four in one function on that thread and
keeps what the statement left (rows, description, row count, last row id), which is what
SQLAlchemy reads afterwards. The statements, their order, their transaction and their errors
are the same; server-side cursors (`stream`) keep the adapter's own.

It leans on two private hooks: SQLAlchemy's cursor class of the aiosqlite connection, and
aiosqlite's `_execute` (run a function on the connection's thread). Both are checked when the
engine connects, so a changed library falls back to the plain adapter instead of failing.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


class _Ran(NamedTuple):
    """What a statement left on its cursor, read on SQLite's thread."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]
    arraysize: int = 1


_NOTHING_RUN = _Ran(None, -1, None, [])


def _run(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool
) -> _Ran:  # on SQLite's thread
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


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor, each statement one function on SQLite's thread."""

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
        try:
            return await_(self._run(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._run(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: Any = self._connection  # aiosqlite's, whose `_execute` is private
        async with self._adapt_connection._execute_mutex:
            ran: _Ran = await connection._execute(
                _run, connection._conn, operation, parameters, many
            )
        self._cursor = ran  # type: ignore[assignment]
        self._rows = collections.deque(ran.rows)

    async def _async_soft_close(self) -> None:
        return None  # nothing is open on SQLite's thread between statements

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


def one_trip(dbapi_connection: Any) -> bool:
    """Give an aiosqlite connection of SQLAlchemy's the one-trip cursor; False (and nothing
    changed) when the connection or the libraries are not what this was written for."""
    if type(dbapi_connection) is not AsyncAdapt_aiosqlite_connection:
        return False
    driver = getattr(dbapi_connection, "_connection", None)
    if not callable(getattr(driver, "_execute", None)) or not hasattr(type(driver), "_conn"):
        return False
    dbapi_connection.__class__ = OneTripConnection
    return True
