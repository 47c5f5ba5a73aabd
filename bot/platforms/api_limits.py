"""How often each API v1 client may open requests: a token bucket per client, in this process.

Each client's bucket holds its policy's `requests_per_minute` and refills at that rate, so a
burst of that many opens is let through and then one per 60/N seconds. The buckets live in
one process: behind N replicas a client may open up to N times its rate, which is enough to
stop a runaway pipeline or agent from paging people without a shared store. Imports nothing
of ours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class ClientBuckets:
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, client: str, per_minute: int) -> int | None:
        """None when `client` may go on (one token taken); else the whole seconds to wait."""
        now, rate = self.clock(), per_minute / 60
        bucket = self._buckets.setdefault(client, _Bucket(float(per_minute), now))
        # A policy reload may have lowered the limit: never hold more than it allows.
        bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))
