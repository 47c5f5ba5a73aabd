"""A revision added on top of ours: SQLite's table rebuilds keep referenced rows, and a step
that fails leaves the database at the revision before it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import inspect

from bot.storage import migrate
from bot.storage.database import create_engine
from bot.storage.migrate import current_revision, head_revision, upgrade
from tests.shell.migrating import HEAD, MIGRATIONS, execute, scalar

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
    await execute(
        empty_database_url,
        "INSERT INTO approval_requests (id, system, status, requester_person, policy_digest, "
        "revision, opened_at, next_due_at, state, updated_at) VALUES "
        f"('r1', 'credit-scoring', 'pending', NULL, 'd', 1, '{at}', NULL, '{{}}', '{at}')",
        "INSERT INTO votes (request_id, person, stance, verdict, platform, at) "
        f"VALUES ('r1', 'mina', 'accountable', 'approve', 'slack', '{at}')",
    )
    await upgrade(empty_database_url)
    assert await current_revision(empty_database_url) == "9001"
    assert await scalar(empty_database_url, "SELECT count(*) FROM votes") == 1
    if empty_database_url.startswith("sqlite"):
        # Only the migration's own connections run without foreign keys.
        assert await scalar(empty_database_url, "PRAGMA foreign_keys") == 1


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
    assert await scalar(empty_database_url, "SELECT count(*) FROM votes") == 0
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert "scratch" not in tables
