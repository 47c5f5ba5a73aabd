"""The incident service: open and close incidents, each in one unit of work; no adapters.

Opening an incident freezes the system's pending approvals in the same transaction; closing it
thaws them and brings the system's risk review forward. Two triggers for the same system at
once make one incident: the second meets the unique constraint on the open system, and is
answered with the incident that won (DUR-14).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.services.ids import new_review_id
from bot.services.unit_of_work import Transaction, UnitOfWork, step_all
from bot.storage.incidents import (
    incidents_on_day,
    load_incident,
    lock_system,
    open_incident_of,
    save_incident,
)
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


@dataclass
class IncidentService:
    uow: UnitOfWork

    async def handle(self, command: IncidentCommand) -> Outcome:
        try:
            return await self._handle(command)
        except IntegrityError:
            # Another trigger opened an incident on this system first: answer with that one.
            return await self._handle(command)

    async def _handle(self, command: IncidentCommand) -> Outcome:
        async with self.uow.command(f"incident-{command.action.value}") as tx:
            if isinstance(command, StartIncident):
                await lock_system(tx.conn, command.system)
                state = await open_incident_of(tx.conn, command.system)
                day = tx.now.replace(hour=0, minute=0, second=0, microsecond=0)
                number = await incidents_on_day(tx.conn, command.system, day) + 1
                command = command.model_copy(update={"number": number})
            else:
                state = await load_incident(tx.conn, command.incident_id, for_update=True)
            result = incident_step(state, command, tx.policy, tx.now)
            if result.state is not None and result.state != state:
                await save_incident(tx.conn, state, result.state, tx.now)
            await tx.record([result])
            await self._carry_out(tx, result.effects)
        return result.outcome

    async def _carry_out(self, tx: Transaction, effects: Sequence[IncidentEffect]) -> None:
        """The effects on other subjects: the system's requests and its risk review."""
        for effect in effects:
            match effect:
                case FreezeDeploys(system=system, incident_id=incident):
                    await self._step_pending(tx, system, incident, freeze=True)
                case ThawDeploys(system=system, incident_id=incident):
                    await self._step_pending(tx, system, incident, freeze=False)
                case ReviewAfterIncident(system=system, incident_id=incident, due_at=due):
                    current = await open_review_of(tx.conn, system)
                    review, event = review_after_incident(
                        current, new_review_id(), system, due, incident, tx.now
                    )
                    if review is not None and event is not None:
                        saving = add_review if current is None else save_review
                        await saving(tx.conn, review, tx.policy, tx.now)
                        tx.append([event])

    async def _step_pending(
        self, tx: Transaction, system: str, incident: str, *, freeze: bool
    ) -> None:
        """Freeze or thaw every pending request of the system, each through the machine."""
        # Every pending request, waiting for any click that holds one: skipping a locked row,
        # as the sweep may, would leave that request unfrozen.
        query = (
            select(approval_requests.c.state)
            .where(approval_requests.c.system == system, approval_requests.c.status == "pending")
            .order_by(approval_requests.c.id)
            .with_for_update()
        )
        rows = await tx.conn.scalars(query)
        claimed = [ApprovalRequest.model_validate_json(raw) for raw in rows]
        change = Freeze if freeze else Thaw
        commands = [change(request_id=state.id, incident_id=incident) for state in claimed]
        await step_all(tx, claimed, commands, counted=False)
