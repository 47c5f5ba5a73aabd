"""Shared fixtures: databases on SQLite always and on PostgreSQL when configured."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import create_engine
from bot.storage.tables import metadata

pytest_plugins = ["tests.slack_world", "tests.teams_world"]

POSTGRES_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "")
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"

# The slow tier, which `make test-fast` leaves out (with the PostgreSQL variants) and `make test`
# and CI run: node id prefixes, each with what makes it slow. A new test can also mark itself with
# `@pytest.mark.slow`. Seconds are not measured here: a test is slow by what it does.
SLOW: dict[str, str] = {
    "tests/console/test_console_browser.py": "real Chromium against real `signoff serve` processes",
    "tests/api/test_api_callbacks_serve.py": "real `signoff serve` calling back an HTTPS receiver",
    "tests/drills/": "real processes killed at crash points, minutes of load, 10,000 systems",
    "tests/audit/test_anchor_serve.py": "real `signoff serve` processes anchoring with a TSA",
    "tests/shell/test_cli_serve.py": "real `signoff` processes: serve, reload, sweep, refusals",
    "tests/shell/test_policy_limits.py::test_policy_check": "real `signoff policy check` runs",
    "tests/teams/test_teams_endpoint.py::test_teams_15": "starts `signoff serve` three times",
    "tests/slack/test_slack_serve.py": "a real `signoff serve` followed through the README",
    "tests/teams/test_teams_everyday.py::test_serve_": "starts a real `signoff serve`",
    "tests/shell/test_migration_races.py::test_replicas_": "four upgrading processes at once",
    "tests/shell/test_ledger_stretches.py::test_worker_processes": "ledger walks in processes",
    "tests/shell/test_authz_stateful.py": "Hypothesis runs hundreds of random interleavings",
    "tests/shell/test_authz.py::test_authz_12_expiry_racing": "two hundred races",
    "tests/shell/test_concurrency.py": "fifty concurrent approvals, on PostgreSQL too",
    "tests/shell/test_pacing.py": "a burst of 500 requests paced through the relay",
    "tests/shell/test_reviews.py::test_rem_04": "a year of weekly reminders across DST",
    "tests/slack/test_slack_fuzz.py": "Hypothesis sends hundreds of signed requests",
    "tests/shell/test_audit_evidence_cli.py": "real `signoff audit` processes",
    "tests/teams/test_teams_fuzz.py": "Hypothesis sends hundreds of authenticated activities",
    "tests/agents/test_mcp_serve.py": "`signoff mcp` and `signoff serve` processes, a 50 s wait",
    "tests/agents/test_require_approval.py": "a real `signoff serve` that people decide through",
    "tests/api/test_api_oidc.py::test_serve_": "a real `signoff serve` trusting local issuers",
    "tests/api/test_api_rate_limits.py::test_serve_": "a real `signoff serve` with two clients",
    "tests/api/test_api_rate_limits.py::test_rate_03_policy_check": "a real `signoff policy check`",
    "tests/client/test_github.py::test_serve_": "the CI client against a real `signoff serve`",
    "tests/github/test_gate_serve.py": "a real `signoff serve` behind the GitHub gate",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(tuple(SLOW)):
            item.add_marker(pytest.mark.slow)
        if _on_postgresql(item):
            item.add_marker(pytest.mark.postgresql)


def _on_postgresql(item: pytest.Item) -> bool:
    """The PostgreSQL variant of a test that runs on both databases, or a PostgreSQL-only one."""
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    fixtures = getattr(item, "fixturenames", ())
    return params.get("empty_database_url") == "postgresql" or "postgres_url" in fixtures


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's platform credentials or database."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "MICROSOFT_", "TEAMS_", "GRAPH_")) or name in (
            "DATABASE_URL",
            "SIGNOFF_POLICY",
            "PORT",
            "GITHUB_APP_ID",
            "GITHUB_APP_PRIVATE_KEY",
            "GITHUB_WEBHOOK_SECRET",
            "GITHUB_API_URL",
        ):
            monkeypatch.delenv(name, raising=False)
    yield


async def _create_postgres_database() -> tuple[str, str]:
    name = f"signoff_t_{uuid.uuid4().hex[:12]}"
    await _as_admin(f'CREATE DATABASE "{name}"')
    admin = make_url(POSTGRES_URL)
    return admin.set(database=name).render_as_string(hide_password=False), name


async def _drop_postgres_database(name: str) -> None:
    await _as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _as_admin(sql: str) -> None:
    """Run one statement on the server SIGNOFF_TEST_POSTGRES_URL names, outside a transaction."""
    import asyncpg  # type: ignore[import-untyped]

    admin = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username,
        password=admin.password,
        database=admin.database,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a new, empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'signoff.db'}"
        return
    async for url in _fresh_postgres():
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, for tests of several processes sharing one server."""
    async for url in _fresh_postgres():
        yield url


async def _fresh_postgres() -> AsyncIterator[str]:
    if not POSTGRES_URL:
        pytest.skip("SIGNOFF_TEST_POSTGRES_URL is not set (CI always sets it)")
    url, name = await _create_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(name)


async def _with_schema(url: str) -> str:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    await engine.dispose()
    return url


@pytest.fixture
async def database_url(empty_database_url: str) -> str:
    """The URL of a database holding the current schema."""
    return await _with_schema(empty_database_url)


@pytest.fixture
async def sqlite_database_url(tmp_path: Path) -> str:
    """A SQLite file holding the current schema, for what only SQLite shows (one connection,
    this process's commits)."""
    return await _with_schema(f"sqlite+aiosqlite:///{tmp_path / 'signoff.db'}")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def unreachable_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine whose SQLite file cannot be opened: its directory does not exist."""
    before = set(threading.enumerate())
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    try:
        yield engine
    finally:
        await engine.dispose()
        # aiosqlite stops the worker thread of a failed connect without awaiting it; the
        # worker must finish while this test's event loop still runs, or it reports to a
        # closed loop and the failure lands on whichever test comes next.
        for thread in set(threading.enumerate()) - before:
            if "_connection_worker_thread" in thread.name:
                await asyncio.to_thread(thread.join, 5)
