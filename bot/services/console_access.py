"""Who may see what in the console, from the policy alone; imports no platform or storage.

Auditors (`console.auditors`) see everything and may export evidence. The Accountable people
of any activity on a system oversee the whole system. Anyone else sees the requests, reviews
and incidents that involve them: they asked, answered, or hold a RACI letter of the activity.
"""

from __future__ import annotations

from workflows.guards import eligible_approvers
from workflows.inventory import people_of, person_by_email, person_by_platform_id, raci_for
from workflows.model import ApprovalRequest
from workflows.policy import Policy


def is_auditor(policy: Policy, person: str | None) -> bool:
    return person is not None and person in policy.console.auditors


def overseen_systems(policy: Policy, person: str | None) -> frozenset[str]:
    """The systems `person` sees whole: every one for an auditor, else where Accountable."""
    if person is None:
        return frozenset()
    if is_auditor(policy, person):
        return frozenset(policy.systems)
    return frozenset(
        system_id
        for system_id, system in policy.systems.items()
        if any(person in people_of(policy, (r.accountable,)) for r in system.raci.values())
    )


def holds_letter(policy: Policy, person: str, system: str, activity: str) -> bool:
    """Whether the policy names `person` Responsible, Accountable, Consulted or Informed."""
    raci = raci_for(policy, system, activity)
    if raci is None:
        return False
    named = (*raci.responsible, raci.accountable, *raci.consulted)
    informed = tuple(ref for ref in raci.informed if not ref.startswith("#"))
    return person in people_of(policy, (*named, *informed))


def may_see_request(policy: Policy, person: str | None, state: ApprovalRequest) -> bool:
    if person is None:
        return False
    if state.system in overseen_systems(policy, person):
        return True
    involved = (
        *eligible_approvers(state, policy),  # the backup too, once escalated
        *state.requesters(),
        *state.consulted,
        *state.approvers(),
        *state.answered(),
        *((state.rejection.person,) if state.rejection else ()),
    )
    return person in involved or holds_letter(policy, person, state.system, state.activity)


def may_see_system_activity(policy: Policy, person: str | None, system: str, activity: str) -> bool:
    """Reviews (`risk-review`) and incidents (`incident`) of a system."""
    if person is None:
        return False
    return system in overseen_systems(policy, person) or holds_letter(
        policy, person, system, activity
    )


def systems_of_interest(policy: Policy, person: str | None) -> frozenset[str] | None:
    """Where every request `person` may see lies (None: everywhere, for an auditor), so a
    list can be narrowed in the database before `may_see_request` judges each row."""
    if is_auditor(policy, person):
        return None
    if person is None:
        return frozenset()
    found = set(overseen_systems(policy, person))
    for system_id, system in policy.systems.items():
        for activity, raci in system.raci.items():
            role = policy.roles.get(raci.accountable)
            backups = people_of(policy, role.backup) if role is not None else ()
            if person in backups or holds_letter(policy, person, system_id, activity):
                found.add(system_id)
    return frozenset(found)


def may_export(policy: Policy, person: str | None) -> bool:
    """The whole ledger and the evidence pack are the auditors'."""
    return is_auditor(policy, person)


def person_signed_in(
    policy: Policy, claims: dict[str, object], bind: str, tenant: str | None
) -> tuple[str | None, str, str]:
    """(person, account, why not) for an ID token's claims.

    A person is bound by an immutable id the policy records: Entra ID's `oid` within the
    tenant `tid` (the policy's `teams` id), or Slack's user id (the policy's `slack` id) within
    the workspace when one is set. An email is only a hint in the explanation: it can change
    hands, so it never binds.
    """
    if bind == "slack":
        user = str(claims.get("https://slack.com/user_id") or "")
        team = str(claims.get("https://slack.com/team_id") or "")
        account, field = user, "slack"
        if tenant and team != tenant:
            return None, account, "This Slack workspace is not the one Signoff trusts."
    else:
        oid, tid = str(claims.get("oid") or ""), str(claims.get("tid") or "")
        account, field, user = f"{tid}/{oid}", "teams", oid
        if not tenant or tid != tenant:
            return None, account, "This Microsoft Entra tenant is not the one Signoff trusts."
    if not user:
        return None, account, "The identity provider did not say which account signed in."
    found = person_by_platform_id(policy, field, user)
    if found is not None:
        return found, account, ""
    email = str(claims.get("email") or "")
    hinted = person_by_email(policy, email) if email else None
    why = f"The policy names nobody with {field} id {user}."
    if hinted is not None:
        why += (
            f" It has {hinted} with your email; an administrator can add `{field}: {user}` "
            "to that person in the policy."
        )
    return None, account, why
