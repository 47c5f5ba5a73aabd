"""Incident room names: deterministic, lowercase, valid on Slack and Teams, at most 80 long."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tests.harness import T0
from workflows.incidents import ROOM_NAME_LIMIT, room_name

VALID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def test_the_name_is_prefix_day_system_number() -> None:
    assert room_name(T0, "credit-scoring", 1) == "inc-20261102-credit-scoring-1"
    assert room_name(T0, "credit-scoring", 12, "Sev-Room") == "sev-room-20261102-credit-scoring-12"


@given(
    system=st.text(min_size=1, max_size=120),
    number=st.integers(min_value=1, max_value=10_000),
    prefix=st.text(max_size=30),
)
def test_any_system_gives_a_valid_name_that_keeps_its_number(
    system: str, number: int, prefix: str
) -> None:
    name = room_name(T0, system, number, prefix)
    assert len(name) <= ROOM_NAME_LIMIT
    assert VALID.match(name), name
    assert name.endswith(f"-{number}") and "-20261102-" in name
