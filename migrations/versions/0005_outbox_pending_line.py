"""The outbox's per-destination index covers only pending rows.

The relay claims a row only when no earlier row of its destination is pending. With every
sent row kept, the old index on (destination_key, id) made that check walk each destination's
history: 56 ms a claim after a few thousand messages on SQLite. A partial index holds only
the rows still waiting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_pending_line",
        "outbox",
        ["destination_key", "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.drop_index("ix_outbox_destination", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_destination", "outbox", ["destination_key", "id"])
    op.drop_index("ix_outbox_pending_line", table_name="outbox")
