"""Risk reviews: one row per review cycle, one open review per system.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_reviews",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("open_system", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_risk_reviews"),
        sa.UniqueConstraint("open_system", name="uq_risk_reviews_open_system"),
    )
    op.create_index("ix_risk_reviews_system", "risk_reviews", ["system"])
    op.create_index("ix_risk_reviews_next_at", "risk_reviews", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_risk_reviews_next_at", table_name="risk_reviews")
    op.drop_index("ix_risk_reviews_system", table_name="risk_reviews")
    op.drop_table("risk_reviews")
