"""Alembic migrations for SQLite and PostgreSQL; imports only `bot.tables` and `bot.database`."""
