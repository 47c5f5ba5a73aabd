"""Ledger anchors: timestamp tokens for the head, and ledger tables that refuse change.

`ledger_anchors` keeps each time-stamping authority's token over an anchored (seq, hash).
Triggers on `ledger_entries` and `ledger_anchors` refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL); the statements are those `bot.storage.append_only` gives `create_all`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.storage.append_only import GUARDED_TABLES, guard_statements, unguard_statements

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_anchors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("tsa", sa.String(512), nullable=False),
        sa.Column("stamped_at", sa.String(32), nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_anchors"),
        sa.UniqueConstraint("token_sha256", name="uq_ledger_anchors_token_sha256"),
    )
    op.create_index("ix_ledger_anchors_seq", "ledger_anchors", ["seq"])
    dialect = op.get_bind().dialect.name
    for table in GUARDED_TABLES:
        for statement in guard_statements(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in GUARDED_TABLES:
        for statement in unguard_statements(dialect, table):
            op.execute(statement)
    op.drop_index("ix_ledger_anchors_seq", table_name="ledger_anchors")
    op.drop_table("ledger_anchors")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS signoff_append_only()")
