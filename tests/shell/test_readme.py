"""The README tells the truth about commands, configuration and the request state table."""

from __future__ import annotations

from tests.conftest import ROOT
from workflows.commands import Action
from workflows.model import Status

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _state_table() -> list[list[str]]:
    section = README.split("## A request's life", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def test_every_status_and_action_pair_is_in_the_state_table() -> None:
    described: set[tuple[str, str]] = set()
    for statuses, actions, *_ in _state_table():
        for status in statuses.split(", "):
            for action in actions.replace(" / ", ", ").split(", "):
                described.add((status, action.split(" ")[0]))
    for status in Status:
        for action in Action:
            assert (status.value, action.value) in described, (status, action)


def test_the_two_commands_and_the_settings_are_documented() -> None:
    assert "make run" in README and "make test" in README
    from bot.settings import Settings

    for name in Settings.model_fields:
        assert name.upper() in README, name
