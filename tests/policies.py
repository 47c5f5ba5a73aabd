"""The policy the tests run under, built in code, its people as actors, and a stand-in for
the policy holder that a test can reload."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

from workflows.model import Actor
from workflows.policy import Policy

BASE_POLICY: dict[str, Any] = {
    "version": 1,
    "people": {
        "mina": {"name": "Mina Park", "email": "mina@acme.example", "slack": "U0MINA"},
        "jae": {"name": "Jae Kim", "email": "jae@acme.example", "slack": "U0JAE"},
        "lee": {"name": "Lee Cho", "email": "lee@acme.example", "slack": "U0LEE"},
        "soo": {"name": "Soo Han", "email": "soo@acme.example", "slack": "U0SOO"},
        "dan": {"name": "Dan Ruiz", "email": "dan@acme.example", "slack": "U0DAN"},
        "ines": {"name": "Ines Faro", "email": "ines@acme.example", "slack": "U0INES"},
        "cdao": {"name": "Ada Chief", "email": "cdao@acme.example", "slack": "U0CDAO"},
        "out": {"name": "Otto Side", "email": "out@acme.example", "slack": "U0OUT"},
    },
    "roles": {
        "ai-governance-lead": {"members": ["mina", "jae", "lee"], "backup": ["cdao"]},
        "ml-engineer": {"members": ["soo"]},
        "security-compliance": {"members": ["dan"]},
        "board": {"members": ["ines"]},
    },
    "channels": {"ai-governance": {"slack": "C0GOV"}},
    "tiers": {
        "high": {
            "quorum": 2,
            "consult_first": True,
            "review_every": "30d",
            "remind_after": "4h",
            "escalate_after": "24h",
            "expire_after": "72h",
        },
        "limited": {
            "quorum": 2,
            "review_every": "90d",
            "remind_after": "24h",
            "escalate_after": "72h",
            "expire_after": "7d",
        },
        "minimal": {
            "quorum": 1,
            "review_every": "180d",
            "remind_after": "72h",
            "expire_after": "14d",
        },
    },
    "systems": {
        "credit-scoring": {
            "name": "Credit scoring model",
            "tier": "high",
            "raci": {
                "deploy": {
                    "responsible": ["ml-engineer"],
                    "accountable": "ai-governance-lead",
                    "consulted": ["security-compliance"],
                    "informed": ["#ai-governance", "board"],
                }
            },
        },
        "support-bot": {
            "name": "Support chatbot",
            "tier": "limited",
            "raci": {
                "deploy": {
                    "responsible": ["ml-engineer"],
                    "accountable": "ai-governance-lead",
                    "informed": ["#ai-governance"],
                }
            },
        },
        "doc-search": {
            "name": "Internal document search",
            "tier": "minimal",
            "raci": {
                "deploy": {"responsible": ["ml-engineer"], "accountable": "ai-governance-lead"}
            },
        },
    },
}


def build_policy(change: Any = None) -> Policy:
    """The base policy, optionally edited by `change(raw_dict)` first."""
    raw = copy.deepcopy(BASE_POLICY)
    if change is not None:
        change(raw)
    return Policy.model_validate(raw)


@dataclass(frozen=True)
class Loaded:
    policy: Policy
    digest: str


@dataclass
class Policies:
    """Stands in for the policy holder: `.current`, and `replace` to simulate a reload."""

    current: Loaded

    @classmethod
    def of(cls, policy: Policy) -> Policies:
        return cls(Loaded(policy, _digest(policy)))

    def replace(self, policy: Policy) -> None:
        self.current = Loaded(policy, _digest(policy))


def _digest(policy: Policy) -> str:
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()


def actor(person: str | None, platform: str = "slack", user_id: str | None = None) -> Actor:
    return Actor(
        person=person, platform=platform, platform_user_id=user_id or f"U0{person}".upper()
    )


CHECKLIST = ("Data quality", "Model risk", "Compliance", "Incidents since the last review")


def with_reviews(raw: dict[str, Any], **reviews: Any) -> None:
    raw["systems"]["credit-scoring"]["raci"]["risk-review"] = {
        "responsible": ["ml-engineer"],
        "accountable": "ai-governance-lead",
        "informed": ["#ai-governance"],
    }
    raw["reviews"] = reviews
    for name in ("support-bot", "doc-search"):
        raw["systems"].pop(name)


def review_policy(**reviews: Any) -> Policy:
    return build_policy(lambda raw: with_reviews(raw, **reviews))
