"""The test policy with a second approval activity: credit-scoring's `data-access`, whose RACI
differs from deploy's in every letter and whose rules override the high tier's."""

from __future__ import annotations

from typing import Any

DATA_OWNERS = ("ines", "cdao")


def with_data_access(raw: dict[str, Any]) -> None:
    """dan (security-compliance) asks, the data owners decide one of them alone within a day,
    soo (ml-engineer) is Consulted, jae is told."""
    raw["roles"]["data-owner"] = {"members": list(DATA_OWNERS), "backup": ["lee"]}
    raw["systems"]["credit-scoring"]["raci"]["data-access"] = {
        "responsible": ["security-compliance"],
        "accountable": "data-owner",
        "consulted": ["ml-engineer"],
        "informed": ["jae"],
        "overrides": {"quorum": 1, "consult_first": False, "expire_after": "24h"},
    }
