"""Questions asked of a loaded policy: who holds which RACI letter for a system; pure."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.policy import ActivityRaci, Policy


@dataclass(frozen=True)
class Informed:
    """Where the Informed of an activity are told: channel ids and person ids."""

    channels: tuple[str, ...]
    people: tuple[str, ...]


def raci_for(policy: Policy, system_id: str, activity: str) -> ActivityRaci | None:
    """The RACI of one activity on one system, or None when the policy has none."""
    system = policy.systems.get(system_id)
    if system is None:
        return None
    for name, raci in system.raci.items():
        if name == activity:
            return raci
    return None


def people_of(policy: Policy, refs: tuple[str, ...]) -> tuple[str, ...]:
    """Person ids named by role or person references, in order, each once."""
    seen: dict[str, None] = {}
    for ref in refs:
        if ref in policy.roles:
            for member in policy.roles[ref].members:
                seen.setdefault(member, None)
        elif ref in policy.people:
            seen.setdefault(ref, None)
    return tuple(seen)


def accountable_people(policy: Policy, system_id: str, activity: str) -> tuple[str, ...]:
    """Members of the Accountable role, as the policy says now."""
    raci = raci_for(policy, system_id, activity)
    return people_of(policy, (raci.accountable,)) if raci else ()


def consulted_people(policy: Policy, system_id: str, activity: str) -> tuple[str, ...]:
    raci = raci_for(policy, system_id, activity)
    return people_of(policy, raci.consulted) if raci else ()


def responsible_people(policy: Policy, system_id: str, activity: str) -> tuple[str, ...]:
    raci = raci_for(policy, system_id, activity)
    return people_of(policy, raci.responsible) if raci else ()


def backup_people(policy: Policy, system_id: str, activity: str) -> tuple[str, ...]:
    """Who escalation reaches: the backup of the Accountable role."""
    raci = raci_for(policy, system_id, activity)
    if raci is None or raci.accountable not in policy.roles:
        return ()
    return people_of(policy, policy.roles[raci.accountable].backup)


def informed_of(policy: Policy, system_id: str, activity: str) -> Informed:
    """Informed channels (written `#name`) and people (roles or person ids)."""
    raci = raci_for(policy, system_id, activity)
    if raci is None:
        return Informed((), ())
    channels = tuple(ref[1:] for ref in raci.informed if ref.startswith("#"))
    people = people_of(policy, tuple(ref for ref in raci.informed if not ref.startswith("#")))
    return Informed(channels, people)


def person_by_platform_id(policy: Policy, platform: str, user_id: str) -> str | None:
    """The person whose policy entry carries this platform id hint."""
    for person_id, person in policy.people.items():
        if getattr(person, platform, None) == user_id:
            return person_id
    return None


def person_by_email(policy: Policy, email: str) -> str | None:
    wanted = email.strip().lower()
    for person_id, person in policy.people.items():
        if person.email.lower() == wanted:
            return person_id
    return None
