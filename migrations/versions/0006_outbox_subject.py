"""Outbox rows name their subject: their request, or the incident whose room they need.

An incident's room tasks were found by searching the message JSON for the incident's id,
which depends on how the JSON is written and reads every pending row. An indexed column makes
that an equality. Existing rows are filled in: request rows from their request, room tasks
from their message.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROOM_TASKS = ("room", "invite", "room-link", "room-text")


def upgrade() -> None:
    op.add_column("outbox", sa.Column("subject_id", sa.String(40), nullable=True))
    op.create_index("ix_outbox_subject_id", "outbox", ["subject_id"])
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("request_id", sa.String),
        sa.column("subject_id", sa.String),
        sa.column("message", sa.Text),
    )
    op.execute(
        outbox.update()
        .where(outbox.c.request_id.is_not(None))
        .values(subject_id=outbox.c.request_id)
    )
    # Only incidents' rows have no request, and there are few of them.
    bind = op.get_bind()
    found = bind.execute(
        sa.select(outbox.c.id, outbox.c.message).where(outbox.c.request_id.is_(None))
    )
    for row_id, raw in list(found):
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("kind") in ROOM_TASKS:
            incident = message.get("incident_id")
            if isinstance(incident, str):
                bind.execute(
                    outbox.update().where(outbox.c.id == row_id).values(subject_id=incident)
                )


def downgrade() -> None:
    op.drop_index("ix_outbox_subject_id", table_name="outbox")
    op.drop_column("outbox", "subject_id")
