"""How the outbox relay retries and paces, and what one pass of it did; imports nothing of ours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=5)
    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=60)
    # The least time between two messages to one destination; Slack allows about one
    # message a second per channel, so pacing avoids a storm of 429s on a burst (DUR-11).
    pace: timedelta = timedelta(0)

    def backoff(self, attempts: int, jitter: float) -> timedelta:
        """Exponential, capped, scaled by `jitter` in [0.5, 1.0] so retries spread out."""
        delay: timedelta = min(self.base * (2 ** max(attempts - 1, 0)), self.cap)
        return delay * jitter


@dataclass
class PassReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead
