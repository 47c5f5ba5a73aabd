"""The shell's services behind the adapters' inbound Protocols (`adapters.inbound`).

Only delegation: what a command does is the services' to decide.
"""

from __future__ import annotations

from adapters.inbound import Delivery
from bot.runtime import Runtime
from bot.services.ids import new_incident_id, new_request_id, new_review_id
from workflows.cards import CardView
from workflows.commands import Answer, Command
from workflows.incidents import IncidentCommand
from workflows.machine_types import Outcome
from workflows.model import Actor
from workflows.policy import Policy
from workflows.reviews import CompleteReview, RiskReview


class _PolicyInForce:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def policy(self) -> Policy:
        return self.runtime.policies.current.policy


class ChatServices(_PolicyInForce):
    """`adapters.inbound.ChatShell`: requests through the approval service, incidents
    through the incident service."""

    async def dispatch(self, command: Command, delivery: Delivery = None) -> Outcome:
        return await self.runtime.service.handle(command, delivery)

    def new_request_id(self) -> str:
        return new_request_id()

    async def waiting_on(self, actor: Actor) -> str:
        return await self.runtime.service.waiting_on(actor)

    async def card_for(self, request_id: str, person: str | None) -> CardView | None:
        return await self.runtime.service.card_for(request_id, person)

    async def answer_on_card(
        self, command: Answer, delivery: Delivery, viewer: str | None
    ) -> tuple[Outcome, CardView | None]:
        return await self.runtime.service.answer_on_card(command, delivery, viewer)

    async def incident(self, command: IncidentCommand) -> Outcome:
        return await self.runtime.incidents.handle(command)

    def new_incident_id(self) -> str:
        return new_incident_id()


class ReviewServices(_PolicyInForce):
    """`adapters.inbound.ReviewShell`: risk reviews through the review service."""

    async def dispatch(self, command: CompleteReview) -> Outcome:
        return await self.runtime.reviews.handle(command)

    async def open_review(self, system: str) -> RiskReview | None:
        return await self.runtime.reviews.open_review(system)

    async def review(self, review_id: str) -> RiskReview | None:
        return await self.runtime.reviews.review(review_id)

    async def list_text(self, person: str | None) -> str:
        return await self.runtime.reviews.list_text(person)

    def new_review_id(self) -> str:
        return new_review_id()


def chat_shell(runtime: Runtime) -> ChatServices:
    return ChatServices(runtime)


def review_shell(runtime: Runtime) -> ReviewServices:
    return ReviewServices(runtime)
