"""Builds the running parts from settings: engine, policy, services and relay.

Imports only the port protocol from adapters; platform adapters are wired here as they land.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from bot.delivery.outbound import AddressGuard, OutboundDelivery
from bot.delivery.outbound_kinds import outbound_delivery
from bot.delivery.relay import OutboxRelay
from bot.delivery.retry import RetryPolicy
from bot.observability.faults import CrashPoint, crash_at, no_faults
from bot.observability.metrics import Metrics
from bot.policy.source import PolicyHolder
from bot.services.approvals import ApprovalService
from bot.services.incidents import IncidentService
from bot.services.reviews import ReviewService
from bot.services.unit_of_work import PolicySource, UnitOfWork
from bot.settings import Settings
from bot.storage.database import create_engine


def utc_now() -> datetime:
    """The real clock; everything else is handed the time."""
    return datetime.now(UTC)


async def build_runtime(
    settings: Settings,
    policies: PolicyHolder,
    clock: Callable[[], datetime],
    ports: Mapping[str, ChatPort] | None = None,
    port_factories: Mapping[str, Callable[[AsyncEngine], ChatPort]] | None = None,
) -> Runtime:
    """Everything `serve` and `sweep` need, around the policy in force."""
    engine = create_engine(settings.database)
    metrics = Metrics()
    ports = dict(ports or {})
    # Some ports keep state in the database (Teams' conversation directory).
    ports.update({name: make(engine) for name, make in (port_factories or {}).items()})
    return assemble_runtime(
        engine,
        policies,
        clock,
        ports,
        metrics=metrics,
        retry=RetryPolicy(
            lease=timedelta(seconds=settings.signoff_outbox_lease_seconds),
            pace=timedelta(seconds=settings.signoff_pace_seconds),
        ),
        crash=crash_at(settings.signoff_fault_at),
        requests_per_hour=settings.signoff_requests_per_hour,
        outbound=outbound_delivery(AddressGuard(settings.signoff_allow_private_callbacks)),
    )


def assemble_runtime(
    engine: AsyncEngine,
    policies: PolicySource,
    clock: Callable[[], datetime],
    ports: Mapping[str, ChatPort],
    *,
    metrics: Metrics,
    retry: RetryPolicy,
    crash: CrashPoint = no_faults,
    requests_per_hour: int = ApprovalService.requests_per_hour,
    jitter: Callable[[], float] | None = None,
    outbound: OutboundDelivery | None = None,
) -> Runtime:
    """The services and the relay around an engine and the ports; serve, sweep and the test
    harness all build their parts here, so there is one wiring to trust."""
    relay = OutboxRelay(
        engine,
        ports,
        lambda: policies.current.policy,
        clock,
        metrics,
        retry=retry,
        crash=crash,
    )
    if jitter is not None:
        relay.jitter = jitter
    if outbound is not None:
        relay.outbound = outbound
    uow = UnitOfWork(engine, policies, ports, clock, metrics, relay.wake, crash)
    service = ApprovalService(uow, requests_per_hour)
    relay.on_dead = service.undeliverable
    return Runtime(
        engine, policies, service, relay, metrics, ReviewService(uow), IncidentService(uow)
    )


@dataclass
class Runtime:
    """What the routes and the background tasks share."""

    engine: AsyncEngine
    policies: PolicySource
    service: ApprovalService
    relay: OutboxRelay
    metrics: Metrics
    reviews: ReviewService
    incidents: IncidentService


RUNTIME = web.AppKey("runtime", Runtime)

Mount = Callable[[web.Application, Runtime], None]
