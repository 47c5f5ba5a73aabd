"""SQLite statements run on the loop's thread: installed on every connection, answering as the
plain adapter does, and waiting for another process's lock without blocking the loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.storage.database import create_engine
from bot.storage.sqlite_hops import HereConnection, run_here


async def _exercise(engine: AsyncEngine) -> list[object]:
    """What a run of statements leaves to be read: row ids, counts, rows, errors, a stream."""
    seen: list[object] = []
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        seen += [inserted.lastrowid, inserted.rowcount]
        many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}])
        seen.append(many.rowcount)
        seen.append((await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all())
        seen.append((await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))).rowcount)
        seen.append((await conn.execute(text("SELECT v FROM t WHERE id = 9"))).first())
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with engine.connect() as conn:
        seen.append((await conn.execute(text("SELECT count(*) FROM t"))).scalar_one())
        async with conn.stream(text("SELECT v FROM t ORDER BY id")) as rows:
            seen.append([row.v async for row in rows])
    return seen


async def test_every_connection_runs_its_statements_here(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    try:
        async with engine.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).dbapi_connection
            assert type(raw) is HereConnection
    finally:
        await engine.dispose()


async def test_it_answers_as_the_plain_adapter_does(tmp_path: Path) -> None:
    ours = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}")
    plain = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}")
    try:
        async with plain.connect() as conn:
            raw: Any = (await conn.get_raw_connection()).dbapi_connection
            assert type(raw) is AsyncAdapt_aiosqlite_connection
        assert await _exercise(ours) == await _exercise(plain)
    finally:
        await ours.dispose()
        await plain.dispose()


def test_anything_else_is_left_alone() -> None:
    class Other:
        pass

    other = Other()
    assert not run_here(other)
    assert type(other) is Other


async def test_another_process_lock_is_waited_for_off_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT)"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # as a CLI command beside `serve` would

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES ('after the lock')"))

        writing = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the write waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not writing.done()
        holder.execute("COMMIT")
        await writing
        holder.close()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT v FROM t"))).scalars().all() == [
                "after the lock"
            ]
    finally:
        await engine.dispose()
