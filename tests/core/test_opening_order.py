"""What opening a request checks first: who may ask comes before how the request is filled,
so one who may not ask is refused (and audited) for that, not coached on its fields."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.policies import actor, build_policy
from workflows.commands import OpenRequest
from workflows.machine import step
from workflows.machine_types import Denial, Problem

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
POLICY = build_policy()


def _open(person: str) -> tuple[object, list[str]]:
    command = OpenRequest(request_id="R1", actor=actor(person), system="credit-scoring")
    result = step(None, command, POLICY, NOW, "d" * 64)
    assert result.state is None  # nothing opened either way
    return result.outcome.code, [e.action for e in result.audit]


def test_a_responsible_person_without_a_version_is_told_to_name_one() -> None:
    assert _open("soo") == (Problem.VERSION_REQUIRED, [])


def test_someone_who_may_not_ask_is_refused_for_that_even_without_a_version() -> None:
    assert _open("dan") == (Denial.NOT_RESPONSIBLE, ["denied"])
