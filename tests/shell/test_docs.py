"""The documents in docs/ tell the truth about the tree: every path they name exists, the
architecture names every room of the shell, and the security list covers every checklist id
the tests cite, each with a test that exists."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

DOCS = ROOT / "docs"
TOP = ("bot", "workflows", "adapters", "migrations", "tests", "bench", "docs", "examples")
# `bot/services/approvals.py`, `adapters/slack/`, `tests/drills/test_failover.py`, ...
PATH = re.compile(r"(?<![\w./-])(?:" + "|".join(TOP) + r")/[\w./-]*[\w/]")
# `tests/shell/test_authz.py::test_authz_01_accountable_approves`
TEST = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
FAMILIES = ("SIG", "TEAMS", "AUTHZ", "AUD", "DUR", "REM", "CHAT", "OIDC", "RATE")
# SIG-06, and SIG-06..10 for a run of them
CITED = re.compile(r"\b(" + "|".join(FAMILIES) + r")-(\d{2})(?:\.\.(\d{2}))?\b")
# test_sig_03_04_..., test_authz_13_to_15_and_chat_15_...
NAMED = re.compile(
    r"(?<![a-z])(" + "|".join(f.lower() for f in FAMILIES) + r")((?:_(?:to_)?\d{2})+)"
)


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def missing_paths(text: str) -> list[str]:
    """The repository paths a document names that do not exist."""
    return sorted({path for path in PATH.findall(text) if not (ROOT / path).exists()})


def missing_tests(text: str) -> list[str]:
    """The `path::test` references whose file or test function does not exist."""
    missing = []
    for path, name in TEST.findall(text):
        file = ROOT / path
        if not file.is_file() or name not in _defined(file.read_text(encoding="utf-8")):
            missing.append(f"{path}::{name}")
    return missing


def _defined(source: str) -> set[str]:
    """Functions and classes, and names bound at module level (a Hypothesis `TestCase`)."""
    tree = ast.parse(source)
    names = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def ids_in(text: str) -> set[str]:
    """Checklist ids written out (`SIG-06`, `SIG-06..10`) or named in test names."""
    found: set[str] = set()
    for family, first, last in CITED.findall(text):
        found.update(f"{family}-{n:02d}" for n in range(int(first), int(last or first) + 1))
    for family, numbers in NAMED.findall(text):
        parts = numbers.strip("_").split("_")
        previous = None
        for i, part in enumerate(parts):
            if part == "to":
                continue
            n = int(part)
            if i > 0 and parts[i - 1] == "to" and previous is not None:
                found.update(f"{family.upper()}-{k:02d}" for k in range(previous, n + 1))
            found.add(f"{family.upper()}-{n:02d}")
            previous = n
    return found


def _cited_by_tests() -> set[str]:
    """Ids written in the tests' text, and ids the test functions' names carry."""
    cited: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        source = path.read_text(encoding="utf-8")
        names = [
            node.name
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        written = [match.group(0) for match in CITED.finditer(source)]
        cited |= ids_in("\n".join(written + names))
    return cited


def test_every_path_the_documents_name_exists() -> None:
    for name in ("architecture.md", "security.md", "operations.md"):
        assert missing_paths(_read(name)) == [], name


def test_a_made_up_path_is_found() -> None:
    text = (
        "The click reaches `bot/services/approvals.py`, then bot/services/nowhere.py and tests/x/."
    )
    assert missing_paths(text) == ["bot/services/nowhere.py", "tests/x/"]


def test_the_architecture_names_every_room_of_the_shell() -> None:
    text = _read("architecture.md")
    rooms = sorted(p.parent.name for p in (ROOT / "bot").glob("*/__init__.py"))
    assert len(rooms) >= 5
    assert [room for room in rooms if f"bot/{room}/" not in text] == []
    named = {p for p in PATH.findall(text) if p.startswith("bot/") and p.endswith(".py")}
    assert len(named) >= 10  # it follows a click and a sweep module by module


def test_every_id_the_tests_cite_has_a_line_with_a_test_that_exists() -> None:
    text = _read("security.md")
    cited = _cited_by_tests()
    assert len(cited) >= 50
    assert sorted(cited - ids_in(text)) == []
    assert missing_tests(text) == []
    for line in text.splitlines():
        if CITED.match(line.removeprefix("- **")):
            assert TEST.search(line), f"no test named for: {line}"


def test_the_id_and_test_checks_can_fail() -> None:
    assert ids_in("SIG-06..08 and AUTHZ-18") == {"SIG-06", "SIG-07", "SIG-08", "AUTHZ-18"}
    assert ids_in("def test_authz_13_to_15_and_chat_15_over_http") == {
        "AUTHZ-13",
        "AUTHZ-14",
        "AUTHZ-15",
        "CHAT-15",
    }
    assert ids_in("def test_sig_03_04_the_window(): ...") == {"SIG-03", "SIG-04"}
    made_up = "tests/shell/test_authz.py::test_authz_99_nothing tests/none.py::test_x"
    assert missing_tests(made_up) == [
        "tests/shell/test_authz.py::test_authz_99_nothing",
        "tests/none.py::test_x",
    ]


def test_the_readme_links_the_documents() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("architecture.md", "security.md", "operations.md"):
        assert f"(docs/{name})" in readme, name
