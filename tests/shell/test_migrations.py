"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

import migrations
from bot.storage import migrate
from bot.storage.database import create_engine
from bot.storage.migrate import (
    alembic_config,
    check_drift,
    current_revision,
    head_revision,
    upgrade,
)
from bot.storage.tables import ledger_head, metadata
from workflows.ledger import GENESIS_HASH

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = Path(next(iter(migrations.__path__)))


async def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


HEAD = "0005"
STEPS = 5  # migrations from an empty database to HEAD


def _step_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "signoff.db"]


async def test_upgrade_an_empty_database_to_head(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signoff.db")
    assert await current_revision(empty_database_url) is None
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision() == HEAD
    assert _step_lines(caplog) == [
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
    assert _step_lines(caplog) == []
    assert await current_revision(empty_database_url) == HEAD
    assert await _scalar(empty_database_url, "SELECT count(*) FROM ledger_head") == 1
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
    await _execute(empty_database_url, statement)
    assert await check_drift(empty_database_url) == [expected]


async def test_drift_ignores_tables_other_libraries_own(empty_database_url: str) -> None:
    await upgrade(empty_database_url)
    await _execute(empty_database_url, "CREATE TABLE apscheduler_jobs (id VARCHAR(191))")
    assert await check_drift(empty_database_url) == []


async def test_upgrades_in_one_process_take_turns(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signoff.db")
    await asyncio.gather(upgrade(empty_database_url), upgrade(empty_database_url))
    assert len(_step_lines(caplog)) == STEPS  # each step once, not once per upgrader
    assert await current_revision(empty_database_url) == HEAD


REPLICA = """
import asyncio, logging, sys
from bot.storage.migrate import upgrade
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
print("ready", flush=True)
sys.stdin.readline()
asyncio.run(upgrade(sys.argv[1]))
"""


async def test_replicas_upgrading_at_once_both_succeed(empty_database_url: str) -> None:
    """Separate processes, as replicas are: the database lock, not ours, keeps them apart."""
    # Opening the file once first switches it to WAL: two processes making that first switch
    # at the same moment can get "database is locked" from our connect hook, which
    # is not what this test is about.
    assert await current_revision(empty_database_url) is None
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REPLICA,
            empty_database_url,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    # Start them together once all have paid for their imports, or there is no race to lose.
    for replica in replicas:
        assert replica.stdout is not None
        assert await replica.stdout.readline() == b"ready\n"
    outputs = await asyncio.gather(*(replica.communicate(b"go\n") for replica in replicas))
    logs = [stdout.decode() for stdout, _ in outputs]
    assert [replica.returncode for replica in replicas] == [0] * len(replicas), logs
    # Each step is applied by exactly one replica.
    assert sum(log.count("signoff.db database migrated") for log in logs) == STEPS, logs
    assert await current_revision(empty_database_url) == HEAD
    assert await _scalar(empty_database_url, "SELECT count(*) FROM ledger_head") == 1


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


SECOND_REVISION = '''\
"""{doc}"""

import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    pass
'''


def _with_second_revision(tmp_path: Path, doc: str, body: str) -> None:
    """A copy of our migrations plus a revision 9001 that exists only for the test."""
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_test.py").write_text(
        SECOND_REVISION.format(doc=doc, body=body, head=head_revision()), encoding="utf-8"
    )


def _use_scripts(monkeypatch: pytest.MonkeyPatch, scripts: Path) -> None:
    real = migrate.alembic_config

    def alembic_config_for_test(database_url: str) -> Config:
        config = real(database_url)
        config.set_main_option("script_location", str(scripts))
        return config

    monkeypatch.setattr(migrate, "alembic_config", alembic_config_for_test)


async def test_batch_migration_of_a_referenced_table_keeps_its_rows(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite rebuilds the table by copy and drop, which foreign keys would refuse."""
    body = (
        '    with op.batch_alter_table("approval_requests") as batch:\n'
        '        batch.alter_column("system", type_=sa.String(80))'
    )
    _with_second_revision(tmp_path, "Widen approval_requests.system.", body)
    _use_scripts(monkeypatch, tmp_path / "migrations")
    await upgrade(empty_database_url, HEAD)
    at = "2026-01-01 00:00:00"
    await _execute(
        empty_database_url,
        "INSERT INTO approval_requests VALUES "
        f"('r1', 'credit-scoring', 'pending', NULL, 'd', 1, '{at}', NULL, '{{}}', '{at}')",
        "INSERT INTO votes (request_id, person, stance, verdict, platform, at) "
        f"VALUES ('r1', 'mina', 'accountable', 'approve', 'slack', '{at}')",
    )
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == "9001"
    assert await _scalar(empty_database_url, "SELECT count(*) FROM votes") == 1
    if empty_database_url.startswith("sqlite"):
        # Only the migration's own connections run without foreign keys.
        assert await _scalar(empty_database_url, "PRAGMA foreign_keys") == 1


async def test_a_failed_step_leaves_the_previous_revision(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that breaks a foreign key fails the upgrade, on SQLite too, and nothing sticks."""
    body = (
        '    op.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY)")\n'
        '    op.execute("INSERT INTO votes (request_id, person, stance, verdict, platform, at) '
        "VALUES ('nobody', 'mina', 'accountable', 'approve', 'slack', '2026-01-01')\")"
    )
    _with_second_revision(tmp_path, "A broken migration.", body)
    _use_scripts(monkeypatch, tmp_path / "migrations")
    await upgrade(empty_database_url, HEAD)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == HEAD
    assert await _scalar(empty_database_url, "SELECT count(*) FROM votes") == 0
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert "scratch" not in tables
