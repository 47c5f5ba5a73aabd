"""Verifies the ledger in the database from genesis to its head row, a long one in stretches
walked by worker processes and joined in `seq` order; imports no adapters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.database import create_engine
from bot.storage.ledger import ledger_rows
from bot.storage.tables import ledger_entries, ledger_head
from workflows.chain import ChainVerifier, Stretch, Verification
from workflows.ledger import GENESIS_HASH, HASHED_FIELDS

# Entries per stretch: long enough that a worker's start (about half a second of imports)
# is small beside it, short enough that progress shows and work spreads over the workers.
STRETCH = 250_000
COLUMNS = [ledger_entries.c[name] for name in (*HASHED_FIELDS, "hash")]

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


async def verify_database(
    engine: AsyncEngine,
    workers: int | None = None,
    stretch: int = STRETCH,
    progress: Progress | None = None,
    start: tuple[int, str] | None = None,
) -> Verification:
    """Recompute the chain from genesis and check the head row agrees with its last entry.

    A ledger of at least two stretches is walked by `workers` processes, this one included
    (default: one per available CPU), each with its own connection; the answer is what one
    walk would find. `start` (seq, hash) begins the walk after an archived stretch: the first
    entry kept must follow it, a point the caller proved with an anchor.
    """
    async with engine.connect() as conn:
        last_seq = (await conn.execute(select(func.max(ledger_entries.c.seq)))).scalar() or 0
    if start is None:
        verifier = await _walk_all(engine, last_seq, workers or available_cpus(), stretch, progress)
    else:
        verifier = ChainVerifier(start_prev_hash=start[1])
        await _walk(engine, verifier, after=start[0], last_seq=last_seq, progress=progress)
    result = verifier.result()
    if not result.ok:
        return result
    async with engine.connect() as conn:
        head = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    last = result.last_good_seq or 0
    if head_seq != last or head_hash != result.head_hash:
        return Verification(
            False,
            result.checked,
            result.last_good_seq,
            result.head_hash,
            last + 1,
            f"the ledger head records seq {head_seq} but the entries end at seq {last} "
            "(entries were removed from the end)",
        )
    return result


async def _walk_all(
    engine: AsyncEngine, last_seq: int, workers: int, stretch: int, progress: Progress | None
) -> ChainVerifier:
    """The whole chain walked: in stretches by `workers` processes when it is long enough."""
    if workers > 1 and last_seq >= 2 * stretch and not _in_memory(engine):
        verifier = ChainVerifier()
        try:
            await _walk_in_workers(engine, verifier, last_seq, workers, stretch, progress)
            return verifier
        except BrokenProcessPool as error:
            # A worker that cannot start (a main module without its `__main__` guard, a
            # process limit) costs speed, not the answer.
            log.warning("worker processes failed (%s); walking the ledger in this one", error)
    verifier = ChainVerifier()
    await _walk(engine, verifier, last_seq=last_seq, progress=progress)
    return verifier


async def _walk(
    engine: AsyncEngine,
    verifier: ChainVerifier,
    after: int = 0,
    upto: int | None = None,
    last_seq: int = 0,
    progress: Progress | None = None,
) -> None:
    # Rows straight to the verifier, not through LedgerEntry: a million of them is a minute
    # of model building otherwise.
    report_at = STRETCH
    # Closed at once when the walk stops early, so its read-ahead lets the connection go.
    batches = ledger_rows(engine, COLUMNS, after=after, upto=upto, from_driver=True)
    async with contextlib.aclosing(batches):
        async for rows in batches:
            if not verifier.check_stored_rows(rows):
                return
            if progress is not None and verifier.checked >= report_at:
                progress(verifier.checked, last_seq)
                report_at += STRETCH


async def _walk_in_workers(
    engine: AsyncEngine,
    verifier: ChainVerifier,
    last_seq: int,
    workers: int,
    stretch: int,
    progress: Progress | None,
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    starts = range(0, last_seq, stretch)
    # The last stretch is open-ended: entries appended while the walk runs are walked too.
    bounds = [(after, after + stretch if after + stretch < last_seq else None) for after in starts]
    loop = asyncio.get_running_loop()
    # This process is one of the walkers: it takes every `workers`-th stretch, the first
    # among them while the others start, and joins the stretches in order.
    here = set(bounds[::workers])
    # `spawn`: a forked child would inherit this process's event loop and driver threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=context) as pool:
        walks = {
            bound: loop.run_in_executor(pool, walk_stretch, url, *bound)
            for bound in bounds
            if bound not in here
        }
        try:
            await _walk(engine, verifier, *bounds[0])
            for bound in bounds[1:]:
                if verifier.failure is not None:
                    return
                if progress is not None:
                    progress(verifier.checked, last_seq)
                here_or_there = _walk_apart(engine, *bound) if bound in here else walks[bound]
                verifier.join(await here_or_there)
            if progress is not None and verifier.failure is None:
                progress(verifier.checked, last_seq)
        finally:
            for walk in walks.values():
                walk.cancel()


async def _walk_apart(engine: AsyncEngine, after: int, upto: int | None) -> Stretch:
    verifier = ChainVerifier(start_prev_hash=None)
    await _walk(engine, verifier, after, upto)
    return verifier.stretch()


def walk_stretch(url: str, after: int, upto: int | None) -> Stretch:
    """In a worker process: the entries past `after` up to `upto`, trusting the first link."""

    async def walk() -> Stretch:
        engine = create_engine(url, reader=True)
        try:
            return await _walk_apart(engine, after, upto)
        finally:
            await engine.dispose()

    return asyncio.run(walk())


def _in_memory(engine: AsyncEngine) -> bool:
    # Another process cannot open an in-memory SQLite database.
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
