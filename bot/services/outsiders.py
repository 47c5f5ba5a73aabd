"""Refuses accounts from outside the organisation a platform is installed for, and audits it.

Imports no adapters. A chat adapter says who is outside (another Slack workspace not named
in the policy, for one); this service records the attempt in the ledger as a security
event, like any other refused person, and words the answer only that account will see.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.unit_of_work import UnitOfWork
from workflows.ledger import AuditEvent
from workflows.machine_types import Denial, Outcome
from workflows.model import Actor

OUTSIDER_MESSAGE = (
    "Signoff acts only for people of the organisation it is installed for, and your account "
    "belongs to another one, so nothing was done. If you should take part, ask the policy's "
    "owners to name your account in the policy."
)


@dataclass
class OutsiderRefusals:
    uow: UnitOfWork

    async def refuse(
        self, actor: Actor, attempted: str, subject: tuple[str, str], organisation: str
    ) -> Outcome:
        """Record the refused attempt in its own unit of work and say why."""
        outcome = Outcome(False, Denial.OUTSIDE_ORGANISATION.value, OUTSIDER_MESSAGE)
        event = AuditEvent(
            action="denied",
            subject_type=subject[0],
            subject_id=subject[1],
            actor=actor,
            data={
                "attempted": attempted,
                "reason": outcome.code,
                "organisation": organisation[:64],
            },
        )
        async with self.uow.command(attempted) as tx:
            tx.append([event])
            tx.outcomes.append(outcome.code)
        return outcome
