"""B4, the sweep: time and peak memory of one sweep over many systems and pending requests.

Run by hand (it is not a test):

    .venv/bin/python -m bench.sweep                       # 10,000 systems, 10,000 requests, SQLite
    .venv/bin/python -m bench.sweep --database postgresql+asyncpg://postgres@127.0.0.1/bench

The baseline is an idle sweep over the same rows in the same run (nothing due), so the ratio
says what the work costs over merely looking. Delivery is left to the relay and not measured.
The PostgreSQL database must exist and be empty; its tables are created here.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.generate import generated_policy
from bench.local import database_with_schema
from bot.delivery.relay import OutboxRelay
from bot.observability.metrics import Metrics
from bot.runtime import Runtime
from bot.scheduling.sweep import SweepReport, run_sweep
from bot.services.approvals import ApprovalService
from bot.services.ids import new_request_id
from bot.services.incidents import IncidentService
from bot.services.reviews import ReviewService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.database import create_engine
from bot.storage.requests import save_request
from tests.fake_chat import FakeChat
from tests.harness import T0, Clock, Policies
from workflows.commands import OpenRequest
from workflows.model import Actor
from workflows.opening import open_request
from workflows.policy import Policy

TARGET_SECONDS, TARGET_MB = 10.0, 300.0


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_mb: float
    report: SweepReport


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(run: Callable[[], Awaitable[SweepReport]]) -> Measure:
    """Wall time, and the process's peak resident memory once it is done (tracemalloc
    would slow the sweep several times over, so the peak is the whole process's)."""
    started = time.perf_counter()
    report = await run()
    return Measure(time.perf_counter() - started, peak_rss_mb(), report)


async def open_requests(engine: AsyncEngine, policy: Policy, digest: str, count: int) -> None:
    """Pending requests written straight to the store, a thousand per transaction."""
    systems = sorted(policy.systems)
    for start in range(0, count, 1000):
        async with engine.begin() as conn:
            for n in range(start, min(start + 1000, count)):
                system = systems[n % len(systems)]
                requester = policy.systems[system].raci["deploy"].responsible[0]
                person = policy.roles[requester].members[0]
                command = OpenRequest(
                    request_id=new_request_id(),
                    actor=Actor(person=person, platform="slack", platform_user_id=f"U{n}"),
                    system=system,
                    version=f"1.{n}",
                )
                opened = open_request(command, policy, T0, digest)
                assert opened.state is not None, opened.outcome
                await save_request(conn, None, opened.state, T0)
        print(f"  opened {min(start + 1000, count):,} of {count:,} requests", file=sys.stderr)


async def main(database: str | None, systems: int, requests: int) -> int:
    url = await database_with_schema(database)
    engine = create_engine(url)
    print(f"generating a policy of {systems:,} systems", file=sys.stderr)
    policy = generated_policy(systems)
    policies = Policies.of(policy)
    clock, metrics = Clock(T0), Metrics()
    chat = FakeChat(platform="slack")
    relay = OutboxRelay(engine, {"slack": chat}, lambda: policy, clock, metrics)
    uow = UnitOfWork(engine, policies, {"slack": chat}, clock, metrics)
    runtime = Runtime(
        engine,
        policies,
        ApprovalService(uow),
        relay,
        metrics,
        ReviewService(uow),
        IncidentService(uow),
    )
    try:
        await open_requests(engine, policy, policies.current.digest, requests)
        print("first sweep: schedules every system's first review", file=sys.stderr)
        first = await measure(lambda: run_sweep(runtime, T0, deliver=False))
        idle = await measure(lambda: run_sweep(runtime, T0, deliver=False))
        # 23 days on: each review's 7-day reminder is due, and every request has expired.
        clock.now = T0 + timedelta(days=23)
        print("due sweep: reminds every review and expires every request", file=sys.stderr)
        due = await measure(lambda: run_sweep(runtime, clock.now, deliver=False))
    finally:
        await engine.dispose()
    rss_mb = peak_rss_mb()
    dialect = url.split(":", 1)[0]
    print(f"B4 sweep on {dialect}: {systems:,} systems, {requests:,} pending requests")
    print(f"  {'sweep':<34}{'seconds':>9}{'peak RSS MB':>13}   work")
    for name, m in (("baseline: idle (nothing due)", idle), ("first (schedules reviews)", first),
                    ("due (reminds and expires all)", due)):  # fmt: skip
        work = f"{m.report.reviews_scheduled} scheduled, {m.report.reviews_ticked} reviews, "
        work += f"{m.report.ticked} requests"
        print(f"  {name:<34}{m.seconds:>9.2f}{m.peak_mb:>13.0f}   {work}")
    print(f"  ratio due / idle: {due.seconds / max(idle.seconds, 1e-9):.1f}x time")
    print(f"  process peak RSS: {rss_mb:.0f} MB")
    worst = max(first.seconds, due.seconds)
    verdict = "meets" if worst < TARGET_SECONDS and rss_mb < TARGET_MB else "misses"
    print(f"  target under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB: {verdict}")
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a new SQLite file)")
    parser.add_argument("--systems", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    return asyncio.run(main(args.database, args.systems, args.requests))


if __name__ == "__main__":
    sys.exit(cli())
