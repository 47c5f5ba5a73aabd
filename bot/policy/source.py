"""Reads the policy file and holds the policy in force, keeping the last good one on reload.

Imports no adapters.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.settings import Settings
from workflows.policy_load import LoadedPolicy, PolicyError, Problem, load_policy

log = logging.getLogger("signoff.policy")

BUNDLED_POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy.yaml"


def read_policy(path: Path | str) -> LoadedPolicy:
    """Load and validate the policy at `path`; raises PolicyError with file and line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        problem = Problem(str(path), 1, f"cannot read the file: {error.strerror}")
        raise PolicyError([problem]) from None
    return load_policy(raw, str(path))


class PolicyHolder:
    """The policy in force; a construction with a bad file raises, so a server cannot start."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.current: LoadedPolicy = read_policy(self.path)

    def reload(self) -> tuple[Problem, ...]:
        """Re-read the file; on failure keep the policy in force and return the problems."""
        try:
            loaded = read_policy(self.path)
        except PolicyError as error:
            for problem in error.problems:
                log.warning("%s", problem)
            log.warning(
                "policy reload failed; policy %s stays in force",
                self.current.digest[:12],
            )
            return error.problems
        if loaded.digest != self.current.digest:
            log.info(
                "policy reloaded: %s replaces %s", loaded.digest[:12], self.current.digest[:12]
            )
        self.current = loaded
        return ()


def policy_path(settings: Settings, given: str | None = None) -> Path:
    """The policy file to read: the one given, else SIGNOFF_POLICY, else the bundled example."""
    if given:
        return Path(given)
    return settings.signoff_policy or BUNDLED_POLICY
