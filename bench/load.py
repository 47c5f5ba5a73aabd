"""The load generator the click benchmarks share: workers or a fixed rate, latencies, statuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.delivery.relay import OutboxRelay


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    # Process CPU (every thread) from the first request until `settle` returned: the server,
    # the generator and the stand-ins, which share the process.
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds / len(self.latencies) * 1000

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"  {self.name:<40}{self.rate:>9.0f}/s{self.percentile(0.5):>9.1f}"
            f"{self.percentile(0.99):>9.1f}{self.cpu_ms_per_request:>9.2f}"
            f"   {dict(sorted(self.statuses.items()))}"
        )


async def drive(
    name: str,
    url: str,
    bodies: list[bytes],
    headers: Callable[[bytes], dict[str, str]],
    concurrency: int,
    per_second: float | None = None,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> Run:
    """Send every body once: `concurrency` workers, or at a fixed rate when `per_second`.
    `settle` waits for the work a request leaves behind (card updates) to count its CPU."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    started, cpu_started = time.perf_counter(), time.process_time()

    async def send(http: aiohttp.ClientSession, body: bytes) -> None:
        sent = time.perf_counter()
        async with http.post(url, data=body, headers=headers(body)) as response:
            await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
        latencies.append(time.perf_counter() - sent)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as http:
        if per_second is None:

            async def worker() -> None:
                while queue:
                    await send(http, queue.pop())

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            tasks = []
            for n, body in enumerate(bodies):
                delay = started + n / per_second - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(send(http, body)))
            await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    if settle is not None:
        await settle()
    return Run(name, seconds, latencies, statuses, time.process_time() - cpu_started)


def print_runs(title: str, runs: list[Run]) -> None:
    """Runs under a title, one line each, as every click benchmark shows them."""
    print(title)
    print(f"  {'run':<40}{'rate':>11}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9}   statuses")
    for run in runs:
        print(run.line())


def print_throughput(baseline: Run, ours: Run) -> None:
    """The ratio to the baseline, and what a request costs in CPU on each side."""
    print(f"  throughput ratio Signoff / baseline: {ours.rate / baseline.rate:.2f} (target 0.5)")
    print(
        f"  CPU per request: baseline {baseline.cpu_ms_per_request:.2f} ms, Signoff "
        f"{ours.cpu_ms_per_request:.2f} ms (its card updates, and the stand-in's answers to "
        "them, included)"
    )


async def until_delivered(relay: OutboxRelay, seconds: float = 600) -> None:
    """Wait while the app's own relay delivers what is queued."""
    for _ in range(int(seconds * 10)):
        if not await relay.pending():
            return
        await asyncio.sleep(0.1)
