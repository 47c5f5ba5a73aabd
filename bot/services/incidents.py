"""The incident service: one transaction per command (incident, freeze, review, ledger, outbox).

Imports no adapters. Opening an incident freezes the system's pending deployment approvals in
the same transaction; closing it thaws them and brings the system's risk review forward.
Two triggers for the same system at once make one incident: the second meets the unique
constraint on the open system, and is answered with the incident that won (DUR-14).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.delivery.room_enqueue import enqueue_incident_effects
from bot.observability.metrics import Metrics
from bot.services.approvals import (
    LoadedPolicyLike,
    PolicySource,
    new_request_id,
    step_all,
    unavailable_on_outage,
)
from bot.services.reviews import new_review_id
from bot.storage.incidents import (
    incidents_on_day,
    load_incident,
    lock_system,
    open_incident_of,
    save_incident,
)
from bot.storage.ledger import append_events
from bot.storage.reviews import add_review, open_review_of, save_review
from bot.storage.tables import approval_requests
from workflows.commands import Freeze, Thaw
from workflows.incident_machine import incident_step
from workflows.incidents import (
    FreezeDeploys,
    IncidentCommand,
    IncidentEffect,
    ReviewAfterIncident,
    StartIncident,
    ThawDeploys,
)
from workflows.machine_types import Outcome
from workflows.model import ApprovalRequest
from workflows.reviews import review_after_incident


def new_incident_id() -> str:
    """`I` and 12 random Crockford base-32 characters."""
    return "I" + new_request_id()[1:]


@dataclass
class IncidentService:
    engine: AsyncEngine
    policies: PolicySource
    platforms: Sequence[str]
    clock: Callable[[], datetime]
    metrics: Metrics
    on_commit: Callable[[], None] = field(default=lambda: None)

    async def handle(self, command: IncidentCommand) -> Outcome:
        try:
            return await self._handle(command)
        except IntegrityError:
            # Another trigger opened an incident on this system first: answer with that one.
            return await self._handle(command)

    async def _handle(self, command: IncidentCommand) -> Outcome:
        now = self.clock()
        loaded = self.policies.current
        label = f"incident-{command.action.value}"
        async with unavailable_on_outage(label), self.engine.begin() as conn:
            if isinstance(command, StartIncident):
                await lock_system(conn, command.system)
                state = await open_incident_of(conn, command.system)
                day = now.replace(hour=0, minute=0, second=0, microsecond=0)
                number = await incidents_on_day(conn, command.system, day) + 1
                command = command.model_copy(update={"number": number})
            else:
                state = await load_incident(conn, command.incident_id, for_update=True)
            result = incident_step(state, command, loaded.policy, now)
            if result.state is not None and result.state != state:
                await save_incident(conn, state, result.state, now)
            await append_events(conn, result.audit, now, loaded.digest)
            queued = await self._carry_out(conn, result.effects, loaded, now)
        self.metrics.commands.labels(action=label, outcome=result.outcome.code).inc()
        if queued:
            self.on_commit()
        return result.outcome

    async def _carry_out(
        self,
        conn: AsyncConnection,
        effects: Sequence[IncidentEffect],
        loaded: LoadedPolicyLike,
        now: datetime,
    ) -> int:
        queued = await enqueue_incident_effects(conn, effects, loaded.policy, self.platforms, now)
        for effect in effects:
            match effect:
                case FreezeDeploys(system=system, incident_id=incident):
                    queued += await self._step_pending(conn, system, incident, True, loaded, now)
                case ThawDeploys(system=system, incident_id=incident):
                    queued += await self._step_pending(conn, system, incident, False, loaded, now)
                case ReviewAfterIncident(system=system, incident_id=incident, due_at=due):
                    current = await open_review_of(conn, system)
                    review, event = review_after_incident(
                        current, new_review_id(), system, due, incident, now
                    )
                    if review is not None and event is not None:
                        saving = add_review if current is None else save_review
                        await saving(conn, review, loaded.policy, now)
                        await append_events(conn, [event], now, loaded.digest)
        return queued

    async def _step_pending(
        self,
        conn: AsyncConnection,
        system: str,
        incident: str,
        freeze: bool,
        loaded: LoadedPolicyLike,
        now: datetime,
    ) -> int:
        """Freeze or thaw every pending request of the system, each through the machine."""
        # Every pending request, waiting for any click that holds one: skipping a locked row,
        # as the sweep may, would leave that request unfrozen.
        query = (
            select(approval_requests.c.state)
            .where(approval_requests.c.system == system, approval_requests.c.status == "pending")
            .order_by(approval_requests.c.id)
            .with_for_update()
        )
        claimed = [ApprovalRequest.model_validate_json(raw) for raw in await conn.scalars(query)]
        change = Freeze if freeze else Thaw
        commands = [change(request_id=state.id, incident_id=incident) for state in claimed]
        _, queued = await step_all(conn, claimed, commands, loaded, self.platforms, now)
        return queued
