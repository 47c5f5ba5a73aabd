"""Signoff in a process of its own for the click benchmarks: start it, read its CPU, wait for it.

The generator and the stand-ins stay in the benchmark's process, so what a run reports as CPU
per click is Signoff's alone, read from `/proc/<pid>/stat` (user and system time of every
thread) before the first click and after the relay has delivered the last card update.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp

from bench.load import Run, drive, print_runs

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Apart:
    """A running `bench.click_server` process and its base URL."""

    process: asyncio.subprocess.Process
    base: str

    def cpu_seconds(self) -> float:
        """User and system CPU of the whole process (every thread) so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            # The command name may hold spaces; the fields after its closing bracket do not.
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    async def pending(self, http: aiohttp.ClientSession) -> int:
        async with http.get(f"{self.base}/bench/pending") as response:
            return int((await response.json())["pending"])

    async def until_delivered(self, seconds: float = 600) -> None:
        """Wait while the server's relay delivers what is queued."""
        async with aiohttp.ClientSession() as http:
            for _ in range(int(seconds * 10)):
                if not await self.pending(http):
                    return
                await asyncio.sleep(0.1)

    async def profile(self, what: str) -> None:
        async with aiohttp.ClientSession() as http, http.post(f"{self.base}/bench/profile/{what}"):
            pass

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=30)
        except TimeoutError:
            self.process.terminate()
            await self.process.wait()


async def start(platform: str, database: str, upstream: str, profile: str | None = None) -> Apart:
    """`bench.click_server` for `platform`, once it serves."""
    extra = ["--profile", profile] if profile else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.click_server", "--platform", platform,
        "--database", database, "--upstream", upstream, *extra,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=120)
    if not line:
        await process.wait()
        raise RuntimeError(f"the click server exited with {process.returncode}")
    return Apart(process, f"http://127.0.0.1:{json.loads(line)['port']}")


@contextlib.asynccontextmanager
async def sampled(server: Apart, output: str | None) -> AsyncIterator[None]:
    """py-spy sampling the server's process meanwhile (its raw stacks to `output`), when an
    `output` is given; py-spy must be installed (`pip install py-spy`)."""
    if output is None:
        yield
        return
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    process = await asyncio.create_subprocess_exec(
        spy, "record", "--pid", str(server.process.pid), "--format", "raw", "--output", output,
        "--rate", "250", "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(1)  # attached
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        await process.wait()


async def drive_apart(
    server: Apart,
    name: str,
    path: str,
    bodies: list[bytes],
    headers: Callable[[bytes], dict[str, str]],
    concurrency: int,
    per_second: float | None = None,
) -> Run:
    """`bench.load.drive` against the server, its CPU counted in the server's process, the
    load average of the machine at the end named in the run."""
    before = server.cpu_seconds()
    run = await drive(name, f"{server.base}{path}", bodies, headers, concurrency, per_second,
                      settle=server.until_delivered)  # fmt: skip
    cpu = server.cpu_seconds() - before
    load = os.getloadavg()[0]
    return dataclasses.replace(run, name=f"{name} (load {load:.1f})", cpu_seconds=cpu)


@dataclass(frozen=True)
class Clicking:
    """How a platform's clicks reach the server: the bare baseline's path and name, Signoff's
    path, and the headers each body is sent with."""

    baseline: str
    bare_path: str
    path: str
    headers: Callable[[bytes], dict[str, str]]


async def click_runs(
    server: Apart,
    clicking: Clicking,
    batches: list[list[bytes]],
    concurrency: int,
    rates: list[int],
    profile: bool,
    sample: str | None,
) -> list[Run]:
    """The baseline and Signoff at `concurrency` on the first batch (Signoff's run profiled
    and sampled when asked), then Signoff at each fixed rate on a batch of its own."""
    baseline = await drive_apart(
        server, clicking.baseline, clicking.bare_path, batches[0], clicking.headers, concurrency
    )
    if profile:
        await server.profile("start")
    name = f"Signoff, concurrency {concurrency}"
    async with sampled(server, sample):
        ours = await drive_apart(
            server, name, clicking.path, batches[0], clicking.headers, concurrency
        )
    if profile:
        await server.profile("stop")
    steady = [
        await drive_apart(
            server,
            f"Signoff, fixed {rate} clicks/s",
            clicking.path,
            batch,
            clicking.headers,
            concurrency,
            per_second=rate,
        )
        for rate, batch in zip(rates, batches[1:], strict=True)
    ]
    return [baseline, ours, *steady]


def report(title: str, runs: list[Run], rates: list[int]) -> None:
    """The runs of `click_runs`, the ratio, and the p99 at each fixed rate."""
    print_runs(title, runs)
    print_ratio(runs[0], runs[1])
    for rate, run in zip(rates, runs[2:], strict=True):
        print(f"  p99 at {rate} clicks/s: {run.percentile(0.99):.1f} ms")


def print_ratio(baseline: Run, ours: Run) -> None:
    """The throughput ratio and the CPU a click costs in the server's process, each side."""
    print(f"  throughput ratio Signoff / baseline: {ours.rate / baseline.rate:.2f} (target 0.25)")
    print(
        f"  CPU per click in the server's process: baseline {baseline.cpu_ms_per_request:.2f} ms,"
        f" Signoff {ours.cpu_ms_per_request:.2f} ms (its card updates and posts included)"
    )
