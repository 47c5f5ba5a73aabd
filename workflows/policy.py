"""The policy file's schema (RACI as code) as frozen pydantic models; pure, imports no I/O.

Loading YAML with line numbers lives in `policy_load`; cross-reference rules in `policy_rules`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from workflows.clients import ClientPolicy
from workflows.durations import format_duration, parse_duration
from workflows.github import GitHubGate

DEPLOY = "deploy"
# Keys under a system's `raci` with a behaviour of their own; every other key is an approval
# activity with the lifecycle of `deploy`.
RESERVED_ACTIVITIES = ("risk-review", "incident")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def _to_duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration; write it as text such as 4h or 30d")
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Model):
    """A human principal; platform ids are optional hints that save a look-up."""

    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    slack: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]{2,}$")
    teams: str | None = Field(default=None, min_length=1)
    # Forge logins: a CI run's actor becomes this person, the requester of record.
    github: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,39}$")
    gitlab: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,255}$")


class Role(_Model):
    """A named group of people; `backup` (people or roles) is who escalation reaches."""

    members: tuple[Name, ...] = ()
    backup: tuple[Name, ...] = ()


class Channel(_Model):
    """An Informed destination, one id per platform."""

    slack: str | None = None
    teams: str | None = None


class TierRules(_Model):
    """The rules a risk tier sets; `consult_within` defaults to `remind_after`."""

    quorum: int = Field(ge=1, le=20)
    consult_first: bool = False
    review_every: Duration
    remind_after: Duration
    escalate_after: Duration | None = None
    expire_after: Duration
    consult_within: Duration | None = None

    @property
    def consultation_window(self) -> timedelta:
        return self.consult_within or self.remind_after


class TierOverrides(_Model):
    """Per-system exceptions to its tier's rules."""

    quorum: int | None = Field(default=None, ge=1, le=20)
    consult_first: bool | None = None
    review_every: Duration | None = None
    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    expire_after: Duration | None = None
    consult_within: Duration | None = None


class ActivityOverrides(_Model):
    """One approval activity's exceptions to its system's rules (which win over its tier's)."""

    quorum: int | None = Field(default=None, ge=1, le=20)
    consult_first: bool | None = None
    remind_after: Duration | None = None
    escalate_after: Duration | None = None
    expire_after: Duration | None = None
    consult_within: Duration | None = None


class Incidents(_Model):
    """Where incident channels are made."""

    slack_team_channel_prefix: str = "inc"
    teams_team_id: str | None = None
    private_severities: tuple[Literal["sev1", "sev2", "sev3", "sev4"], ...] = ("sev1", "sev2")
    # How soon after an incident closes its system's risk review is due.
    review_within: Duration = timedelta(days=7)


DEFAULT_CHECKLIST = (
    "Data quality",
    "Model risk",
    "Compliance",
    "Incidents since the last review",
)


class ReviewSettings(_Model):
    """When risk-review reminders go out and what a review checks.

    Reminders go `remind_days_before` the due date (0 is the day itself), at `hour` in the
    policy's time zone; an unfinished review escalates `escalate_after` its due moment.
    """

    remind_days_before: tuple[Annotated[int, Field(ge=0, le=365)], ...] = (7, 1, 0)
    hour: int = Field(default=9, ge=0, le=23)
    escalate_after: Duration = timedelta(days=1)
    checklist: tuple[str, ...] = Field(default=DEFAULT_CHECKLIST, min_length=1)


class ConsoleSettings(_Model):
    """Who the console shows more than what involves them: auditors read everything."""

    auditors: tuple[Name, ...] = ()


class ActivityRaci(_Model):
    """Who is Responsible, Accountable, Consulted and Informed for one activity.

    Responsible and Consulted name roles or people; Accountable names exactly one role;
    Informed names channels (`#name`), roles or people. An approval activity may override its
    system's rules and say whether an open incident on the system freezes it (unset: only
    `deploy` is frozen).
    """

    responsible: tuple[Name, ...]
    accountable: Name
    consulted: tuple[Name, ...] = ()
    informed: tuple[str, ...] = ()
    overrides: ActivityOverrides = ActivityOverrides()
    incident_freezes: bool | None = None


class System(_Model):
    """One entry of the AI system inventory."""

    name: str = Field(min_length=1)
    tier: Name
    owner: Name | None = None
    runbook: str | None = None
    data: tuple[str, ...] = ()
    overrides: TierOverrides = TierOverrides()
    raci: dict[Name, ActivityRaci]

    @property
    def approval_activities(self) -> tuple[str, ...]:
        """The activities one may ask approval for, `deploy` first, then in file order."""
        names = [a for a in self.raci if a not in RESERVED_ACTIVITIES]
        return tuple(sorted(names, key=lambda a: a != DEPLOY))


class Policy(_Model):
    """The whole policy file, version 1."""

    version: Literal[1]
    timezone: str = "UTC"
    people: dict[Name, Person]
    roles: dict[Name, Role]
    channels: dict[Name, Channel] = {}
    tiers: dict[Name, TierRules]
    incidents: Incidents = Incidents()
    reviews: ReviewSettings = ReviewSettings()
    systems: dict[Name, System]
    # Machines that may ask (pipelines, agents); never approvers.
    clients: dict[Name, ClientPolicy] = {}
    console: ConsoleSettings = ConsoleSettings()
    # The deployment gate: which GitHub environment asks for which system's deploy.
    github: GitHubGate | None = None

    def rules_for(self, system_id: str, activity: str | None = None) -> TierRules:
        """The tier rules of a system, with its overrides and then the activity's applied."""
        system = self.systems[system_id]
        rules = self.tiers[system.tier]
        raci = system.raci.get(activity) if activity is not None else None
        for overrides in (system.overrides, raci.overrides if raci else None):
            if overrides is not None:
                changes = overrides.model_dump(exclude_none=True)
                rules = rules.model_copy(update={k: getattr(overrides, k) for k in changes})
        return rules

    def freezes(self, system_id: str, activity: str) -> bool:
        """Whether an open incident on the system holds approvals of this activity."""
        system = self.systems.get(system_id)
        raci = system.raci.get(activity) if system is not None else None
        if raci is None or raci.incident_freezes is None:
            return activity == DEPLOY
        return raci.incident_freezes
