"""Commands the engine accepts, each from a person (via an adapter) or the scheduler; pure."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.model import Actor, Verdict
from workflows.provenance import AgentCall, Artifact, CiRun
from workflows.text import Comment


class Action(StrEnum):
    OPEN = "open"
    APPROVE = "approve"
    REJECT = "reject"
    NO_OBJECTION = "no-objection"
    RAISE_CONCERN = "concern"
    CANCEL = "cancel"
    TICK = "tick"
    FREEZE = "freeze"
    THAW = "thaw"


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str


class OpenRequest(_Command):
    """Ask for approval of one activity on one system; the shell chooses the id."""

    actor: Actor
    system: str
    activity: str = "deploy"
    version: str | None = None
    environment: str | None = None
    reason: Comment | None = None
    on_behalf_of: str | None = None
    artifact: Artifact | None = None
    ci: CiRun | None = None
    agent: AgentCall | None = None
    # Set by the shell, never by an adapter: the open incident on the system, if any.
    frozen_by: str | None = None

    @property
    def action(self) -> Action:
        return Action.OPEN


_VERDICT_ACTIONS = {
    Verdict.APPROVE: Action.APPROVE,
    Verdict.REJECT: Action.REJECT,
    Verdict.NO_OBJECTION: Action.NO_OBJECTION,
    Verdict.CONCERN: Action.RAISE_CONCERN,
}


class Answer(_Command):
    """A button pressed on a card; `revision` is the card's, `comment` a reason or concern."""

    actor: Actor
    verdict: Verdict
    revision: int | None = None
    comment: Comment | None = None
    location: dict[str, str] | None = None

    @property
    def action(self) -> Action:
        return _VERDICT_ACTIONS[self.verdict]


class Cancel(_Command):
    """The requester withdraws a pending request."""

    actor: Actor
    reason: Comment | None = None

    @property
    def action(self) -> Action:
        return Action.CANCEL


class Tick(_Command):
    """The scheduler's nudge: remind, escalate or expire whatever is due at `now`."""

    @property
    def action(self) -> Action:
        return Action.TICK


class Freeze(_Command):
    """An incident opened on the request's system: hold its approval until it closes."""

    incident_id: str

    @property
    def action(self) -> Action:
        return Action.FREEZE


class Thaw(_Command):
    """The incident that froze the request was closed."""

    incident_id: str

    @property
    def action(self) -> Action:
        return Action.THAW


Command = OpenRequest | Answer | Cancel | Tick | Freeze | Thaw
