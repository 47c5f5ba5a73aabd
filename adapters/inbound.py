"""What the adapters need from the shell, as Protocols the shell's services implement.

A reader (and mypy) follows a click from an adapter through these methods to the service
that carries it out. Imports `workflows` only; never `bot`.
"""

from __future__ import annotations

from typing import Protocol

from workflows.cards import CardView
from workflows.commands import Answer, Command
from workflows.incidents import IncidentCommand
from workflows.machine_types import Outcome
from workflows.model import Actor
from workflows.policy import Policy
from workflows.reviews import CompleteReview, RiskReview

# Where an inbound delivery came from, so a redelivery is recognised: (platform, delivery id).
Delivery = tuple[str, str] | None


class ChatShell(Protocol):
    """Requests and incidents, as every chat adapter reaches them."""

    async def dispatch(self, command: Command, delivery: Delivery = None) -> Outcome: ...

    def new_request_id(self) -> str: ...

    def policy(self) -> Policy: ...

    async def waiting_on(self, actor: Actor) -> str: ...

    async def card_for(self, request_id: str, person: str | None) -> CardView | None:
        """The card a person should see of a request now; None when there is no request."""

    async def answer_on_card(
        self, command: Answer, delivery: Delivery, viewer: str | None
    ) -> tuple[Outcome, CardView | None]:
        """A button's answer, and the card its presser should see after it."""

    async def incident(self, command: IncidentCommand) -> Outcome: ...

    def new_incident_id(self) -> str: ...


class ReviewShell(Protocol):
    """Risk reviews, as the chat adapters reach them."""

    async def dispatch(self, command: CompleteReview) -> Outcome: ...

    async def open_review(self, system: str) -> RiskReview | None: ...

    async def review(self, review_id: str) -> RiskReview | None:
        """A review as it is now, open or completed; None when there is no such review."""

    async def list_text(self, person: str | None) -> str:
        """`reviews` as `person` (None: not in the policy) reads it."""

    def new_review_id(self) -> str: ...

    def policy(self) -> Policy: ...
