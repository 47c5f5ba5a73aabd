"""Requests name their activity, and a person's recent requests can be counted.

Approval requests were all deployments; now any activity a system's RACI names can be asked
for. Existing rows become `deploy` requests through the column's default, and their stored
state, which has no activity, reads as `deploy` too. The ledger is not touched, so its chain
verifies as before. An index on (requester, opened) serves the per-person rate limit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "approval_requests",
        sa.Column("activity", sa.String(64), nullable=False, server_default="deploy"),
    )
    op.create_index(
        "ix_approval_requests_requester", "approval_requests", ["requester_person", "opened_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_approval_requests_requester", table_name="approval_requests")
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("activity")
