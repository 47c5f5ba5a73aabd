"""A generated policy of many systems, for the sweep benchmark and the scale test."""

from __future__ import annotations

from typing import Any

from workflows.policy import Policy

PEOPLE = 40


def generated_policy(count: int, timezone: str = "UTC") -> Policy:
    """`count` high-tier systems; each has deploy and risk-review RACI over shared roles.

    People are spread over twenty teams so that reminders do not all queue for one person.
    """
    people = {
        f"p{i:03d}": {"name": f"Person {i}", "email": f"p{i:03d}@acme.example"}
        for i in range(PEOPLE)
    }
    people["chief"] = {"name": "Chief Officer", "email": "chief@acme.example"}
    roles: dict[str, Any] = {}
    for team in range(PEOPLE // 2):
        roles[f"lead-{team}"] = {"members": [f"p{2 * team:03d}"], "backup": ["chief"]}
        roles[f"eng-{team}"] = {"members": [f"p{2 * team + 1:03d}"]}
    systems: dict[str, Any] = {}
    for n in range(count):
        team = n % (PEOPLE // 2)
        raci = {"responsible": [f"eng-{team}"], "accountable": f"lead-{team}"}
        systems[f"sys-{n:05d}"] = {
            "name": f"System {n}",
            "tier": "high",
            "raci": {"deploy": raci, "risk-review": {**raci, "informed": ["#governance"]}},
        }
    return Policy.model_validate(
        {
            "version": 1,
            "timezone": timezone,
            "people": people,
            "roles": roles,
            "channels": {"governance": {"slack": "C0GOV"}},
            "tiers": {
                "high": {
                    "quorum": 1,
                    "review_every": "30d",
                    "remind_after": "4h",
                    "escalate_after": "24h",
                    "expire_after": "72h",
                }
            },
            "systems": systems,
        }
    )
