"""Builds the running parts from settings (engine, policy, service, relay) and runs sweeps.

Imports only the port protocol from adapters; platform adapters are wired here as they land.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from adapters.port import ChatPort
from bot.app import Runtime
from bot.database import create_engine
from bot.metrics import Metrics
from bot.outbox import OutboxRelay, PassReport
from bot.policy_source import PolicyHolder
from bot.service import ApprovalService
from bot.settings import Settings
from bot.tables import approval_requests
from workflows.commands import Tick


async def build_runtime(
    settings: Settings,
    policies: PolicyHolder,
    clock: Callable[[], datetime],
    ports: Mapping[str, ChatPort] | None = None,
) -> Runtime:
    """Everything `serve` and `sweep` need, around the policy in force."""
    engine = create_engine(settings.database)
    metrics = Metrics()
    ports = dict(ports or {})
    relay = OutboxRelay(engine, ports, lambda: policies.current.policy, clock, metrics)
    service = ApprovalService(engine, policies, list(ports), clock, metrics, relay.wake)
    return Runtime(engine, policies, service, relay, metrics)


@dataclass(frozen=True)
class SweepReport:
    ticked: int
    delivery: PassReport


async def run_sweep(runtime: Runtime, now: datetime, batch: int = 500) -> SweepReport:
    """Tick every pending request that has something due at `now`, then deliver."""
    ticked = 0
    last_id = ""
    while True:
        async with runtime.engine.connect() as conn:
            due = list(
                (
                    await conn.execute(
                        select(approval_requests.c.id)
                        .where(
                            approval_requests.c.status == "pending",
                            approval_requests.c.next_due_at <= now,
                            approval_requests.c.id > last_id,
                        )
                        .order_by(approval_requests.c.id)
                        .limit(batch)
                    )
                ).scalars()
            )
        for request_id in due:
            # Each tick re-reads the request under its lock, so a concurrent click or a second
            # sweep finds nothing left to do rather than acting twice.
            await runtime.service.handle(Tick(request_id=request_id))
            ticked += 1
        if len(due) < batch:
            break
        last_id = due[-1]
    return SweepReport(ticked, await runtime.relay.drain(now))
