"""Incidents: the record, its commands and the effects that open and close its room; pure.

An incident names a system and a severity. Opening one makes a room (a Slack channel or a
Teams channel) with a deterministic name, invites the system's incident RACI, and freezes the
system's deployment approvals until the incident is closed.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.inventory import informed_of, people_of, raci_for
from workflows.model import Actor
from workflows.policy import ActivityRaci, Policy
from workflows.text import Comment

ROOM_NAME_LIMIT = 80
_NOT_IN_NAME = re.compile(r"[^a-z0-9_-]+")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Incident(_Frozen):
    id: str
    system: str
    severity: str
    summary: str
    reporter: Actor
    room: str  # the channel's name on every platform
    private: bool
    status: IncidentStatus = IncidentStatus.OPEN
    opened_at: datetime
    closed_at: datetime | None = None
    closed_by: Actor | None = None
    closing_summary: str | None = None


class IncidentAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"


class StartIncident(_Frozen):
    """Open an incident; the shell picks the id and the day's number for the room name."""

    incident_id: str
    number: int
    actor: Actor
    system: str
    severity: str
    summary: Comment

    @property
    def action(self) -> IncidentAction:
        return IncidentAction.OPEN


class EndIncident(_Frozen):
    incident_id: str
    actor: Actor
    summary: Comment

    @property
    def action(self) -> IncidentAction:
        return IncidentAction.CLOSE


IncidentCommand = StartIncident | EndIncident


class OpenRoom(_Frozen):
    """Make the incident's room, invite its people, pin the first message, tell the Informed."""

    incident_id: str
    name: str
    private: bool
    topic: str
    first_message: str
    members: tuple[str, ...]  # policy people
    owner: str | None  # the person a platform names as the room's owner, where it needs one
    informed: tuple[str, ...]  # policy channels
    announcement: str  # what the Informed channels read, before the room's link


class PostInRoom(_Frozen):
    """Post in the room, and tell the Informed channels the same."""

    incident_id: str
    text: str
    informed: tuple[str, ...] = ()


class FreezeDeploys(_Frozen):
    system: str
    incident_id: str


class ThawDeploys(_Frozen):
    system: str
    incident_id: str


class ReviewAfterIncident(_Frozen):
    """A risk review of the system due at `due_at` (sooner if one is already due sooner)."""

    system: str
    incident_id: str
    due_at: datetime


IncidentEffect = OpenRoom | PostInRoom | FreezeDeploys | ThawDeploys | ReviewAfterIncident


def incident_raci(policy: Policy, system: str) -> ActivityRaci | None:
    """The system's `incident` RACI, or its `deploy` RACI when it has none."""
    return raci_for(policy, system, "incident") or raci_for(policy, system, "deploy")


def room_name(opened_at: datetime, system: str, number: int, prefix: str = "inc") -> str:
    """`inc-<yyyymmdd>-<system>-<n>`: lowercase, valid on Slack and Teams, at most 80 long."""
    day = opened_at.strftime("%Y%m%d")
    tail = f"-{number}"
    head = f"{_slug(prefix)[:20].strip('-_') or 'inc'}-{day}-"
    room = _slug(system) or "system"
    return head + room[: ROOM_NAME_LIMIT - len(head) - len(tail)] + tail


def room_members(policy: Policy, system: str, reporter: str | None) -> tuple[str, ...]:
    """Responsible, Accountable and Consulted of the incident RACI, and the reporter."""
    raci = incident_raci(policy, system)
    refs = (*raci.responsible, raci.accountable, *raci.consulted) if raci else ()
    people = people_of(policy, refs)
    if reporter and reporter not in people:
        people += (reporter,)
    return people


def informed_channels(policy: Policy, system: str) -> tuple[str, ...]:
    activity = "incident" if raci_for(policy, system, "incident") else "deploy"
    return informed_of(policy, system, activity).channels


def _slug(text: str) -> str:
    return _NOT_IN_NAME.sub("-", text.lower()).strip("-_")
