"""API clients: token hashes, the Idempotency-Keys that opened requests, and change notices.

`api_tokens` keeps a SHA-256 of each client token's secret, never the secret. `api_requests`
maps (client, Idempotency-Key) to the request it chose and the body it came with. On
PostgreSQL a trigger notifies `signoff_requests` with the id of every request row written, so
a long-poll held by any replica wakes when another replica decides.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION signoff_request_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('signoff_requests', NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER approval_requests_notify AFTER INSERT OR UPDATE ON approval_requests
FOR EACH ROW EXECUTE FUNCTION signoff_request_changed()
"""


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False, index=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_used_at", _when(), nullable=True),
        sa.Column("expires_at", _when(), nullable=True),
        sa.Column("revoked_at", _when(), nullable=True),
    )
    op.create_table(
        "api_requests",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Index("ix_api_requests_client_created", "client", "created_at"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS approval_requests_notify ON approval_requests")
        op.execute("DROP FUNCTION IF EXISTS signoff_request_changed()")
    op.drop_table("api_requests")
    op.drop_table("api_tokens")
