"""Migrations build the schema the models describe, on SQLite and PostgreSQL, and the
plain `alembic` command does the same without our event loop."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from bot.storage.database import create_engine
from bot.storage.migrate import (
    alembic_config,
    check_drift,
    current_revision,
    head_revision,
    upgrade,
)
from bot.storage.tables import ledger_head, metadata
from tests.shell.migrating import HEAD, MIGRATIONS, execute, scalar, step_lines
from workflows.ledger import GENESIS_HASH


async def test_upgrade_an_empty_database_to_head(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signoff.db")
    assert await current_revision(empty_database_url) is None
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision() == HEAD
    assert step_lines(caplog) == [
        "database migrated from empty to 0001: "
        "The initial schema: requests, votes, deliveries, outbox, card copies, the ledger.",
        "database migrated from 0001 to 0002: "
        "Risk reviews: one row per review cycle, one open review per system.",
        "database migrated from 0002 to 0003: "
        "Teams conversations the bot has seen: service URLs and personal chats for proactive "
        "posts.",
        "database migrated from 0003 to 0004: "
        "Incidents and their rooms: one open incident per system.",
        "database migrated from 0004 to 0005: "
        "The outbox's per-destination index covers only pending rows.",
        "database migrated from 0005 to 0006: "
        "Outbox rows name their subject: their request, or the incident whose room they need.",
        "database migrated from 0006 to 0007: "
        "Requests name their activity, and a person's recent requests can be counted.",
        "database migrated from 0007 to 0008: "
        "API clients: token hashes, the Idempotency-Keys that opened requests, and change notices.",
        "database migrated from 0008 to 0009: API callbacks: each client's webhook signing secret.",
        "database migrated from 0009 to 0010: "
        "Ledger anchors: timestamp tokens for the head, and ledger tables that refuse change.",
    ]
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            heads = (await conn.execute(select(ledger_head))).all()
        assert [(h.id, h.seq, h.hash) for h in heads] == [(1, 0, GENESIS_HASH)]
    finally:
        await engine.dispose()

    caplog.clear()
    await upgrade(empty_database_url)  # a second run changes nothing
    assert step_lines(caplog) == []
    assert await current_revision(empty_database_url) == HEAD
    assert await scalar(empty_database_url, "SELECT count(*) FROM ledger_head") == 1
    assert await check_drift(empty_database_url) == []


def _snapshot(sync_conn: Connection) -> dict[str, Any]:
    """Everything a migration must get right, constraint names included."""
    inspector = inspect(sync_conn)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        pk = inspector.get_pk_constraint(table)
        tables[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "pk": (pk["name"], pk["constrained_columns"]),
            "fks": sorted(
                (fk["name"], fk["constrained_columns"], fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "uniques": sorted(
                (u["name"], u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], i["column_names"], i["unique"])
                for i in inspector.get_indexes(table)
                # PostgreSQL reports the index behind each unique constraint as well.
                if not i.get("duplicates_constraint")
            ),
        }
    return tables


async def test_migrated_schema_equals_create_all(empty_database_url: str) -> None:
    """Stricter than drift: constraint and index names must follow the naming convention."""
    await upgrade(empty_database_url)
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            migrated = await conn.run_sync(_snapshot)
            await conn.run_sync(metadata.drop_all)
            await conn.execute(text("DROP TABLE alembic_version"))
            await conn.run_sync(metadata.create_all)
            modelled = await conn.run_sync(_snapshot)
    finally:
        await engine.dispose()
    assert set(migrated) == set(metadata.tables)
    assert migrated == modelled
    assert migrated["votes"]["fks"][0][0] == "fk_votes_request_id_approval_requests"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("ALTER TABLE outbox ADD COLUMN stray INTEGER", "remove_column outbox.stray"),
        ("DROP INDEX ix_outbox_due", "add_index ix_outbox_due on outbox"),
    ],
)
async def test_drift_is_detected(empty_database_url: str, statement: str, expected: str) -> None:
    await upgrade(empty_database_url)
    await execute(empty_database_url, statement)
    assert await check_drift(empty_database_url) == [expected]


async def test_drift_ignores_tables_other_libraries_own(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    await execute(empty_database_url, "CREATE TABLE apscheduler_jobs (id VARCHAR(191))")
    assert await check_drift(empty_database_url) == []


def test_alembic_config_keeps_a_percent_in_the_password() -> None:
    config = alembic_config("postgres://signoff:p%40ss%25@db.example:5432/signoff")
    assert config.get_main_option("sqlalchemy.url") == (
        "postgresql+asyncpg://signoff:p%40ss%25@db.example:5432/signoff"
    )
    assert Path(config.get_main_option("script_location") or "") == MIGRATIONS


def test_the_alembic_command_runs_without_an_event_loop(tmp_path: Path) -> None:
    """The path `alembic upgrade head` takes: env.py builds its own engine."""
    database = tmp_path / "cli.db"
    config = alembic_config(f"sqlite:///{database}")
    command.upgrade(config, "head")
    command.check(config)  # raises when autogenerate would write a migration
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert conn.execute("SELECT id, seq, hash FROM ledger_head").fetchall() == [
            (1, 0, GENESIS_HASH)
        ]
    conn.close()
