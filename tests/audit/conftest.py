"""The audit tests' fixtures: a local time-stamping authority, another one nobody trusts, and
an anchoring job around a harness."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.audit.tsa import load_roots
from bot.runtime import Runtime
from bot.scheduling.anchoring import AnchorConfig, Anchorer
from tests.clock import Clock
from tests.tsa_standin import RunningTsa, other_tsa, tsa

__all__ = ["anchorer_for", "openssl_ts_verify", "other_tsa", "tsa"]


def anchorer_for(
    runtime: Runtime,
    clock: Clock,
    *authorities: RunningTsa,
    roots: RunningTsa | None = None,
    **config: object,
) -> Anchorer:
    """An anchoring job asking `authorities`, trusting the roots of `roots` (default: the
    first authority), with quick retries."""
    trusted = load_roots((roots or authorities[0]).roots)
    settings = {"backoff": 0.01, "timeout": 5.0, **config}
    made = AnchorConfig(tuple(a.url for a in authorities), trusted, **settings)  # type: ignore[arg-type]
    return Anchorer(runtime, made, clock)


def openssl_ts_verify(data: Path, token: Path, roots: Path) -> subprocess.CompletedProcess[str]:
    """`openssl ts -verify`, as an auditor with OpenSSL alone runs it."""
    command = ["openssl", "ts", "-verify", "-data", str(data), "-in", str(token)]
    return subprocess.run(
        [*command, "-CAfile", str(roots)], capture_output=True, text=True, check=False
    )
