"""Effects a transition asks the shell to carry out, addressed to people and channels; pure.

Effects name policy people and channels, never platform accounts: the shell routes them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.model import Actor


class Audience(StrEnum):
    """Which card a recipient gets, and so which buttons."""

    APPROVER = "approver"
    CONSULTED = "consulted"
    INFORMED = "informed"


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str


class Target(BaseModel):
    """Exactly one of a person, a channel (both policy ids) or a platform actor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: str | None = None
    channel: str | None = None
    actor: Actor | None = None


class PostCard(_Effect):
    """Post the request's card, rendered for `audience` at delivery time."""

    audience: Audience
    to: Target


class Notify(_Effect):
    """Tell someone something in plain words."""

    text: str
    to: Target


class RefreshCards(_Effect):
    """Re-render every posted copy of the request's card from current state."""


Effect = PostCard | Notify | RefreshCards
