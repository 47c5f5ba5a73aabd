"""Builds the running parts from settings: engine, policy, services and relay.

Imports only the port protocol from adapters; platform adapters are wired here as they land.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from adapters.shell import ChatShell
from bot.app import Runtime
from bot.database import create_engine
from bot.faults import crash_at
from bot.incident_service import IncidentService, new_incident_id
from bot.metrics import Metrics
from bot.outbox import OutboxRelay
from bot.policy_source import PolicyHolder
from bot.retry_policy import RetryPolicy
from bot.review_service import ReviewService
from bot.service import ApprovalService, new_request_id
from bot.settings import Settings
from workflows.policy import Policy


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
    crash = crash_at(settings.signoff_fault_at)
    lease = timedelta(seconds=settings.signoff_outbox_lease_seconds)
    relay = OutboxRelay(
        engine,
        ports,
        lambda: policies.current.policy,
        clock,
        metrics,
        retry=RetryPolicy(lease=lease, pace=timedelta(seconds=settings.signoff_pace_seconds)),
        crash=crash,
    )
    service = ApprovalService(engine, policies, list(ports), clock, metrics, relay.wake, crash)
    relay.on_dead = service.undeliverable
    reviews = ReviewService(engine, policies, list(ports), clock, metrics, relay.wake)
    incidents = IncidentService(engine, policies, list(ports), clock, metrics, relay.wake)
    return Runtime(engine, policies, service, relay, metrics, reviews, incidents)


def chat_shell(runtime: Runtime) -> ChatShell:
    """What every chat adapter gets from the shell: the services, as plain callables."""
    service = runtime.service

    def policy() -> Policy:
        return runtime.policies.current.policy

    return ChatShell(
        dispatch=service.handle,
        new_request_id=new_request_id,
        policy=policy,
        waiting_on=service.waiting_on,
        card_for=service.card_for,
        answer_on_card=service.answer_on_card,
        incident=runtime.incidents.handle,
        new_incident_id=new_incident_id,
    )
