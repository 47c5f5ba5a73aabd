"""Alembic migrations for SQLite and PostgreSQL; imports only `bot.storage`'s tables and
database."""
