"""Reads the policy file and holds the policy in force, keeping the last good one on reload.

Imports no adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Iterator
from pathlib import Path

from bot.settings import Settings
from workflows.policy_load import LoadedPolicy, PolicyError, Problem, load_policy
from workflows.policy_yaml import MAX_BYTES

log = logging.getLogger("signoff.policy")

BUNDLED_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"


def read_policy(path: Path | str) -> LoadedPolicy:
    """Load and validate the policy at `path`; raises PolicyError with file and line.

    Reads one byte past the limit and no further, so a huge file costs nothing to refuse.
    """
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as error:
        problem = Problem(str(path), 1, f"cannot read the file: {error.strerror}")
        raise PolicyError([problem]) from None
    return load_policy(raw, str(path))


class PolicyHolder:
    """The policy in force; a construction with a bad file raises, so a server cannot start."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.current: LoadedPolicy = read_policy(self.path)
        self._reloads: set[asyncio.Task[tuple[Problem, ...]]] = set()
        self._reading = asyncio.Lock()

    def reload(self) -> tuple[Problem, ...]:
        """Re-read the file; on failure keep the policy in force and return the problems."""
        return self._swap(self._read())

    async def reload_off_loop(self) -> tuple[Problem, ...]:
        """`reload`, with the file read and validated in a worker thread.

        A policy of 1 MiB takes a second or more to parse; the event loop answers requests meanwhile
        and only the swap, one assignment, happens on it. Reloads run one at a time, in the
        order they were asked for.
        """
        async with self._reading:
            return self._swap(await asyncio.to_thread(self._read_uncollected))

    def reload_soon(self) -> None:
        """Schedule `reload_off_loop` on the running loop: the SIGHUP handler."""
        task = asyncio.get_running_loop().create_task(self.reload_off_loop())
        self._reloads.add(task)  # the loop keeps only a weak reference to its tasks
        task.add_done_callback(self._reloaded)

    def _reloaded(self, task: asyncio.Task[tuple[Problem, ...]]) -> None:
        self._reloads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("policy reload: failed unexpectedly", exc_info=task.exception())

    def _read(self) -> LoadedPolicy | PolicyError:
        try:
            return read_policy(self.path)
        except PolicyError as error:
            return error

    def _read_uncollected(self) -> LoadedPolicy | PolicyError:
        with _collector_paused():
            return self._read()

    def _swap(self, outcome: LoadedPolicy | PolicyError) -> tuple[Problem, ...]:
        before = self.current.digest[:12]
        if isinstance(outcome, PolicyError):
            for problem in outcome.problems:
                log.warning("%s", problem)
            log.warning("policy reload: failed, %s stays in force", before)
            return outcome.problems
        if outcome.digest == self.current.digest:
            log.info("policy reload: unchanged, %s stays in force", before)
        else:
            log.info("policy reload: %s replaces %s", outcome.digest[:12], before)
        self.current = outcome
        return ()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in the whole process while the policy is parsed.

    Parsing 1 MiB allocates enough objects to start several full collections, and each
    walks every object holding the GIL: the event loop stopped 250-350 ms at a time. The
    parse makes no garbage cycles (the loader is disposed; nodes and models are trees), so
    nothing is left for the collector to miss.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def policy_path(settings: Settings, given: str | None = None) -> Path:
    """The policy file to read: the one given, else SIGNOFF_POLICY, else the bundled example."""
    if given:
        return Path(given)
    return settings.signoff_policy or BUNDLED_POLICY
