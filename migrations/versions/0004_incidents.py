"""Incidents and their rooms: one open incident per system.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("open_system", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
        sa.UniqueConstraint("open_system", name="uq_incidents_open_system"),
    )
    op.create_index("ix_incidents_system", "incidents", ["system"])
    op.create_table(
        "incident_rooms",
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("ref", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "platform", name="pk_incident_rooms"),
    )


def downgrade() -> None:
    op.drop_table("incident_rooms")
    op.drop_index("ix_incidents_system", table_name="incidents")
    op.drop_table("incidents")
