"""Upgrades that run at the same time, in one process or as replicas in several: each step
is applied once and every upgrader succeeds."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

from bot.storage.migrate import current_revision, upgrade
from tests.shell.migrating import HEAD, ROOT, STEPS, scalar, step_lines


async def test_upgrades_in_one_process_take_turns(
    empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signoff.db")
    await asyncio.gather(upgrade(empty_database_url), upgrade(empty_database_url))
    assert len(step_lines(caplog)) == STEPS  # each step once, not once per upgrader
    assert await current_revision(empty_database_url) == HEAD


REPLICA = """
import asyncio, logging, sys
from bot.storage.migrate import upgrade
logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
print("ready", flush=True)
sys.stdin.readline()
asyncio.run(upgrade(sys.argv[1]))
"""


async def test_replicas_upgrading_at_once_both_succeed(empty_database_url: str) -> None:
    """Separate processes, as replicas are: the database lock, not ours, keeps them apart."""
    # Opening the file once first switches it to WAL: two processes making that first switch
    # at the same moment can get "database is locked" from our connect hook, which
    # is not what this test is about.
    assert await current_revision(empty_database_url) is None
    replicas = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            REPLICA,
            empty_database_url,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    # Start them together once all have paid for their imports, or there is no race to lose.
    for replica in replicas:
        assert replica.stdout is not None
        assert await replica.stdout.readline() == b"ready\n"
    outputs = await asyncio.gather(*(replica.communicate(b"go\n") for replica in replicas))
    logs = [stdout.decode() for stdout, _ in outputs]
    assert [replica.returncode for replica in replicas] == [0] * len(replicas), logs
    # Each step is applied by exactly one replica.
    assert sum(log.count("signoff.db database migrated") for log in logs) == STEPS, logs
    assert await current_revision(empty_database_url) == HEAD
    assert await scalar(empty_database_url, "SELECT count(*) FROM ledger_head") == 1
