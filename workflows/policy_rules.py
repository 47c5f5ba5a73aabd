"""Cross-reference rules of a policy that parsed: the RACI rule, names that must exist; pure.

Each rule yields (key path, plain sentence); the loader turns paths into line numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workflows.clients import overlapping_trusts
from workflows.github import gate_findings
from workflows.inventory import people_of
from workflows.policy import RESERVED_ACTIVITIES, Policy

Path = tuple[str | int, ...]
Finding = tuple[Path, str]


def _raci_names(policy: Policy) -> Iterator[Finding]:
    for system_id, system in policy.systems.items():
        for activity, raci in system.raci.items():
            base: Path = ("systems", system_id, "raci", activity)
            if raci.accountable in policy.people and raci.accountable not in policy.roles:
                yield (
                    (*base, "accountable"),
                    f"the Accountable must be a role, not the person '{raci.accountable}'",
                )
            elif raci.accountable not in policy.roles:
                yield (*base, "accountable"), f"unknown role '{raci.accountable}'"
            if not raci.responsible:
                yield (*base, "responsible"), "at least one Responsible role or person is needed"
            for field in ("responsible", "consulted"):
                for index, ref in enumerate(getattr(raci, field)):
                    if ref not in policy.roles and ref not in policy.people:
                        yield (*base, field, index), f"unknown role or person '{ref}'"
            for index, ref in enumerate(raci.informed):
                if ref.startswith("#"):
                    if ref[1:] not in policy.channels:
                        yield (*base, "informed", index), f"unknown channel '{ref}'"
                elif ref not in policy.roles and ref not in policy.people:
                    yield (
                        (*base, "informed", index),
                        f"unknown role or person '{ref}' (write channels as '#name')",
                    )


def _quorum(policy: Policy) -> Iterator[Finding]:
    """Every approval activity can reach its quorum of distinct Accountable people."""
    for system_id, system in policy.systems.items():
        if system.tier not in policy.tiers:
            continue
        for activity in system.approval_activities:
            raci = system.raci[activity]
            if raci.accountable not in policy.roles:
                continue
            quorum = policy.rules_for(system_id, activity).quorum
            members = len(set(policy.roles[raci.accountable].members))
            if 0 < members < quorum:
                yield (
                    ("systems", system_id, "raci", activity, "accountable"),
                    f"the Accountable role '{raci.accountable}' has {members} member(s) but "
                    f"{system_id} needs a quorum of {quorum} for {activity}",
                )


def _empty_accountable(policy: Policy) -> Iterator[Finding]:
    """An Accountable role nobody is in leaves every request of its activity unanswered."""
    for system_id, system in policy.systems.items():
        for activity, raci in system.raci.items():
            role = policy.roles.get(raci.accountable)
            if role is not None and not role.members:
                yield (
                    ("systems", system_id, "raci", activity, "accountable"),
                    f"the Accountable role '{raci.accountable}' has no members",
                )


def _asker_can_be_approved(policy: Policy) -> Iterator[Finding]:
    """Whoever may ask leaves enough other people to approve, counting the backup."""
    for system_id, system in policy.systems.items():
        if system.tier not in policy.tiers:
            continue
        for activity in system.approval_activities:
            raci = system.raci[activity]
            role = policy.roles.get(raci.accountable)
            if role is None or not role.members:
                continue
            quorum = policy.rules_for(system_id, activity).quorum
            approvers = set(people_of(policy, (raci.accountable, *role.backup)))
            for person in people_of(policy, raci.responsible):
                others = len(approvers - {person})
                if person in approvers and others < quorum:
                    yield (
                        ("systems", system_id, "raci", activity, "responsible"),
                        f"when {person} asks for {activity} on {system_id}, only {others} "
                        f"other Accountable or backup people can approve but the quorum is "
                        f"{quorum}; add a member or a backup to '{raci.accountable}'",
                    )


def _activity_settings(policy: Policy) -> Iterator[Finding]:
    """Overrides and incident freezing mean something only for approval activities."""
    for system_id, system in policy.systems.items():
        for activity in RESERVED_ACTIVITIES:
            raci = system.raci.get(activity)
            if raci is None:
                continue
            for field in ("overrides", "incident_freezes"):
                if field in raci.model_fields_set:
                    yield (
                        ("systems", system_id, "raci", activity, field),
                        f"'{field}' applies to approval activities, not to {activity}",
                    )


def _systems(policy: Policy) -> Iterator[Finding]:
    for system_id, system in policy.systems.items():
        if system.tier not in policy.tiers:
            known = ", ".join(policy.tiers) or "none"
            yield ("systems", system_id, "tier"), f"unknown tier '{system.tier}' (known: {known})"
        if system.owner is not None and system.owner not in policy.roles:
            yield ("systems", system_id, "owner"), f"unknown role '{system.owner}'"
        if "deploy" not in system.raci:
            yield ("systems", system_id, "raci"), "a 'deploy' activity is required"


def _roles(policy: Policy) -> Iterator[Finding]:
    for role_id, role in policy.roles.items():
        if role_id in policy.people:
            yield ("roles", role_id), f"'{role_id}' is both a role and a person; rename one"
        for index, member in enumerate(role.members):
            if member not in policy.people:
                yield ("roles", role_id, "members", index), f"unknown person '{member}'"
            elif member in role.members[:index]:
                # A quorum counts distinct people: a repeat would look like a second approver.
                yield (
                    ("roles", role_id, "members", index),
                    f"'{member}' is listed twice; a person counts once towards a quorum",
                )
        for index, backup in enumerate(role.backup):
            if backup not in policy.people and backup not in policy.roles:
                yield ("roles", role_id, "backup", index), f"unknown role or person '{backup}'"


def _unique_people(policy: Policy) -> Iterator[Finding]:
    for field in ("email", "slack", "teams", "github", "gitlab"):
        first: dict[str, str] = {}
        for person_id, person in policy.people.items():
            value = getattr(person, field)
            if value is None:
                continue
            key = value.lower() if field == "email" else value
            if key in first:
                yield (
                    ("people", person_id, field),
                    f"duplicate {field} '{value}', already used by '{first[key]}'",
                )
            else:
                first[key] = person_id


def _clients(policy: Policy) -> Iterator[Finding]:
    """A client may ask only for approval activities the inventory has; no ID token may prove
    two clients."""
    yield from overlapping_trusts(policy.clients)
    for name, client in policy.clients.items():
        for system_id, activities in client.may_request.items():
            base: Path = ("clients", name, "may_request", system_id)
            system = policy.systems.get(system_id)
            if system is None:
                known = ", ".join(sorted(policy.systems)) or "none"
                yield base, f"unknown system '{system_id}' (known: {known})"
                continue
            for index, activity in enumerate(activities):
                if activity not in system.approval_activities:
                    known = ", ".join(system.approval_activities)
                    yield (
                        (*base, index),
                        f"'{activity}' is not an approval activity of {system_id} "
                        f"(it has: {known})",
                    )


def _console(policy: Policy) -> Iterator[Finding]:
    for index, auditor in enumerate(policy.console.auditors):
        if auditor not in policy.people:
            yield ("console", "auditors", index), f"unknown person '{auditor}'"


def _github(policy: Policy) -> Iterator[Finding]:
    if policy.github is not None:
        systems = {s: system.approval_activities for s, system in policy.systems.items()}
        yield from gate_findings(policy.github, systems)


def _timezone(policy: Policy) -> Iterator[Finding]:
    try:
        ZoneInfo(policy.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield ("timezone",), f"unknown time zone '{policy.timezone}' (use e.g. Europe/Berlin)"


RULES: tuple[Callable[[Policy], Iterator[Finding]], ...] = (
    _raci_names,
    _quorum,
    _empty_accountable,
    _asker_can_be_approved,
    _activity_settings,
    _systems,
    _roles,
    _unique_people,
    _clients,
    _console,
    _github,
    _timezone,
)


def check_rules(policy: Policy) -> list[Finding]:
    """Every cross-reference problem of the policy, in rule order."""
    return [finding for rule in RULES for finding in rule(policy)]
