"""What the migration tests share: the newest revision, how many steps lead to it, and one
statement run against a database URL. Imports nothing of the shell but its database module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

import migrations
from bot.storage.database import create_engine

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = Path(next(iter(migrations.__path__)))


async def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


HEAD = "0010"
STEPS = 10  # migrations from an empty database to HEAD


def step_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "signoff.db"]
