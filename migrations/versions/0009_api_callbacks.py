"""API callbacks: each client's webhook signing secret.

`api_signing_secrets` keeps each client's `whsec_` secrets. Unlike a token, a signing secret
must be kept as it is, since the server signs every callback with it (HMAC-SHA256 needs the
key itself); a rotation keeps the old one signing beside the new one for the overlap.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_signing_secrets",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False, index=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=True),
        sa.Column("revoked_at", _when(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_signing_secrets")
