"""Every entry of the slow tier (tests/conftest.py) still names tests that exist, so a renamed
or moved slow test cannot slip back into `make test-fast` unnoticed."""

from __future__ import annotations

import ast

from tests.conftest import ROOT, SLOW


def stale_entries(entries: list[str]) -> list[str]:
    """The node id prefixes that match no test file, or no test in their file."""
    stale = []
    for entry in entries:
        path, _, name = entry.partition("::")
        file = ROOT / path
        if path.endswith("/"):
            if not any(file.glob("test_*.py")):
                stale.append(entry)
            continue
        if not file.is_file():
            stale.append(entry)
            continue
        defined = {
            node.name
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
        if name and not any(test.startswith(name) for test in defined):
            stale.append(entry)
    return stale


def test_every_slow_entry_names_tests_that_exist() -> None:
    assert stale_entries(list(SLOW)) == []


def test_a_slow_entry_that_names_nothing_is_found() -> None:
    made_up = [
        "tests/nowhere/",
        "tests/shell/test_no_such_file.py",
        "tests/shell/test_cli_serve.py::test_no_such_test",
    ]
    assert stale_entries(made_up) == made_up
    assert stale_entries(["tests/drills/", "tests/shell/test_cli_serve.py::test_serve_"]) == []
