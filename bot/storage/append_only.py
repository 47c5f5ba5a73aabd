"""Triggers that make the ledger's entries and anchors refuse UPDATE, DELETE and TRUNCATE, on
SQLite and PostgreSQL; imports nothing above storage.

The same statements serve migration 0010 and `metadata.create_all`, so every database Signoff
makes refuses to change its history. They stop a bug and a careless hand, not the database's
owner: the owner may drop a trigger, which is why the chain is anchored outside the database.
The ledger's head row is not guarded: every append moves it.
"""

from __future__ import annotations

from typing import Any

GUARDED_TABLES = ("ledger_entries", "ledger_anchors")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION signoff_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'signoff: % of % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def trigger_names(table: str) -> dict[str, tuple[str, ...]]:
    """The guard triggers of `table` on each engine."""
    return {
        "postgresql": (f"{table}_append_only", f"{table}_no_truncate"),
        "sqlite": (f"{table}_no_update", f"{table}_no_delete"),
    }


def guard_statements(dialect: str, table: str) -> list[str]:
    """The statements that guard `table`; empty on an engine Signoff does not run on."""
    if dialect == "postgresql":
        rows, truncate = trigger_names(table)["postgresql"]
        return [
            PG_FUNCTION,
            f"CREATE TRIGGER {rows} BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION signoff_append_only()",
            # TRUNCATE fires no row trigger: it needs a statement trigger of its own.
            f"CREATE TRIGGER {truncate} BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION signoff_append_only()",
        ]
    if dialect == "sqlite":
        # SQLite has no TRUNCATE; its DELETE without WHERE still fires row triggers.
        return [
            f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'signoff: {op} of {table} refused: the table is append-only'); "
            "END"
            for name, op in zip(trigger_names(table)["sqlite"], ("UPDATE", "DELETE"), strict=True)
        ]
    return []


def unguard_statements(dialect: str, table: str) -> list[str]:
    names = trigger_names(table).get(dialect, ())
    on = f" ON {table}" if dialect == "postgresql" else ""
    return [f"DROP TRIGGER IF EXISTS {name}{on}" for name in names]


def install_guards(target: Any, connection: Any, **_: Any) -> None:
    """`after_create` listener: guard the table just created."""
    for statement in guard_statements(connection.dialect.name, target.name):
        connection.exec_driver_sql(statement)
