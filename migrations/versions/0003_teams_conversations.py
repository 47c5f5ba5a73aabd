"""Teams conversations the bot has seen: service URLs and personal chats for proactive posts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams_conversations",
        sa.Column("conversation_id", sa.String(512), nullable=False),
        sa.Column("service_url", sa.String(512), nullable=False),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=True),
        sa.Column("person", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_teams_conversations"),
    )
    op.create_index("ix_teams_conversations_tenant_id", "teams_conversations", ["tenant_id"])
    op.create_index("ix_teams_conversations_user_id", "teams_conversations", ["user_id"])
    op.create_index("ix_teams_conversations_person", "teams_conversations", ["person"])


def downgrade() -> None:
    op.drop_index("ix_teams_conversations_person", table_name="teams_conversations")
    op.drop_index("ix_teams_conversations_user_id", table_name="teams_conversations")
    op.drop_index("ix_teams_conversations_tenant_id", table_name="teams_conversations")
    op.drop_table("teams_conversations")
