"""SQLAlchemy table definitions and the metadata Alembic migrates; imports no adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.storage.append_only import install_guards

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every engine; SQLite would otherwise drop the offset silently."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor_person", String(64), nullable=True),
    Column("actor_platform", String(16), nullable=False),
    Column("actor_platform_user_id", String(128), nullable=False),
    Column("action", String(48), nullable=False),
    Column("subject_type", String(24), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("data", Text, nullable=False),
    Column("policy_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Index("ix_ledger_entries_subject", "subject_type", "subject_id"),
)

# Timestamp tokens over the chain's head: one row per time-stamping authority and anchored
# `seq`. `token` is the authority's whole DER TimeStampResp, as `openssl ts -verify -in` reads.
ledger_anchors = Table(
    "ledger_anchors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seq", Integer, nullable=False, index=True),
    Column("hash", String(64), nullable=False),
    Column("tsa", String(512), nullable=False),
    Column("stamped_at", String(32), nullable=False),
    Column("token", LargeBinary, nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Entries and anchors refuse UPDATE and DELETE (migration 0010 installs the same triggers).
event.listen(ledger_entries, "after_create", install_guards)
event.listen(ledger_anchors, "after_create", install_guards)

# One row (id 1): the chain's head. Locking it serialises appends so `seq` stays gap-free.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("system", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("requester_person", String(64), nullable=True),
    Column("policy_digest", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("next_due_at", UtcDateTime, nullable=True, index=True),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The activity asked for; requests from before activities had names are deployments.
    Column("activity", String(64), nullable=False, server_default="deploy"),
    # How many requests a person opened lately: the per-person rate limit asks on every open.
    Index("ix_approval_requests_requester", "requester_person", "opened_at"),
)

# The database's own guard against counting a person twice, whatever the code above it does.
votes = Table(
    "votes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), ForeignKey("approval_requests.id"), nullable=False),
    Column("person", String(64), nullable=False),
    Column("stance", String(16), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("comment", Text, nullable=True),
    UniqueConstraint("request_id", "person", "stance"),
)

# Inbound platform deliveries already handled (Slack event_id or action ids, Teams activity.id).
inbound_deliveries = Table(
    "inbound_deliveries",
    metadata,
    Column("platform", String(16), primary_key=True),
    Column("delivery_key", String(255), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("destination_key", String(255), nullable=False),
    Column("request_id", String(40), nullable=True, index=True),
    Column("message", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # The request a row is about, or the incident whose room it needs: rows are looked up by
    # it, never by searching the message text.
    Column("subject_id", String(40), nullable=True, index=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    # Only pending rows: the relay asks "is an earlier row of this destination still
    # pending?" for every due row, and sent rows (kept as history) would make each probe
    # walk the destination's whole past.
    Index(
        "ix_outbox_pending_line",
        "destination_key",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
)

# Where each card was posted, so the relay can re-render every copy from database state.
chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(40), nullable=False, index=True),
    Column("platform", String(16), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("person", String(64), nullable=True),
    Column("ref", Text, nullable=False),
    Column("outbox_id", Integer, nullable=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)


# One row per review cycle. `open_system` holds the system while the review is due and NULL
# once completed: its unique constraint keeps one open review per system, even when two
# sweeps race to schedule the first one.
risk_reviews = Table(
    "risk_reviews",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("system", String(64), nullable=False, index=True),
    Column("open_system", String(64), nullable=True, unique=True),
    Column("status", String(16), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("next_at", UtcDateTime, nullable=True, index=True),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Teams conversations the bot has seen, so it can write to people and channels later: Teams
# gives no other way to learn a tenant's service URL or a person's personal chat.
teams_conversations = Table(
    "teams_conversations",
    metadata,
    Column("conversation_id", String(512), primary_key=True),
    Column("service_url", String(512), nullable=False),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("user_id", String(128), nullable=True, index=True),
    Column("person", String(64), nullable=True, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Incidents: `open_system` holds the system while the incident is open and NULL once closed,
# so its unique constraint allows one open incident per system, however many triggers race.
incidents = Table(
    "incidents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("system", String(64), nullable=False, index=True),
    Column("open_system", String(64), nullable=True, unique=True),
    Column("status", String(16), nullable=False),
    Column("state", Text, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Each incident's room on each platform, once made (a Slack channel id, a Teams channel).
incident_rooms = Table(
    "incident_rooms",
    metadata,
    Column("incident_id", String(40), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("ref", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)


def seed_ledger_head(target: Table, connection: Any, **_: Any) -> None:
    """The chain starts at the genesis hash; migrations seed the same row."""
    connection.execute(target.insert().values(id=1, seq=0, hash="0" * 64))


event.listen(ledger_head, "after_create", seed_ledger_head)

# API clients' tokens: the SHA-256 of each secret, never the secret; rotation sets
# `expires_at` on the old one, revocation `revoked_at`.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("client", String(64), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

# The Idempotency-Keys API clients opened requests with, each client's own.
api_requests = Table(
    "api_requests",
    metadata,
    Column("client", String(64), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("request_id", String(40), nullable=False, unique=True),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_api_requests_client_created", "client", "created_at"),
)

# API clients' callback signing secrets (`whsec_...`), kept as they are: signing needs the key
# itself. Rotation sets `expires_at` on the old one, revocation `revoked_at`.
api_signing_secrets = Table(
    "api_signing_secrets",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("client", String(64), nullable=False, index=True),
    Column("secret", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)
