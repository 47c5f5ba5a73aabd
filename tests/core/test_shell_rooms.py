"""The rooms of the shell (`bot/`): which room may import which, no cycles, no long modules.

Each rule is a function over (importer, imported) module names, so the tests below also show
that every rule fires on a bad example.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import pytest

from tests.core.layer_rules import ROOT, imported_modules, module_name, names_a_package, sources

# What may sit directly in bot/: the composition roots, the server and the settings.
TOP_OF_BOT = frozenset({"__init__", "__main__", "cli", "serve", "server", "runtime", "settings"})
ROOMS = ("services", "storage", "delivery", "scheduling", "platforms", "audit", "observability")
ROOMS_OF_BOT = frozenset({*ROOMS, "policy", "client", "agents"})

# room -> rooms (or top-level modules of bot) it must never import, and why
MUST_NOT_IMPORT: dict[str, dict[str, str]] = {
    "bot.storage": dict.fromkeys(
        (
            "bot.services",
            "bot.delivery",
            "bot.scheduling",
            "bot.platforms",
            "bot.audit",
            "bot.server",
            "bot.serve",
            "bot.cli",
        ),
        "storage is the floor: rows in and out, nothing above it",
    ),
    "bot.delivery": dict.fromkeys(
        ("bot.services", "bot.scheduling", "bot.platforms", "bot.server", "bot.serve"),
        "delivery sends what the services queued; it never calls them",
    ),
    "bot.services": dict.fromkeys(
        ("bot.scheduling", "bot.platforms", "bot.server", "bot.serve", "bot.cli"),
        "services are called by the surfaces, never the reverse",
    ),
    "bot.audit": dict.fromkeys(
        ("bot.services", "bot.delivery", "bot.scheduling", "bot.platforms"),
        "audit tools read the ledger only",
    ),
    "bot.observability": dict.fromkeys(("bot",), "metrics and crash points import nothing ours"),
    "bot.agents": dict.fromkeys(
        (
            "bot.services",
            "bot.storage",
            "bot.delivery",
            "bot.scheduling",
            "bot.platforms",
            "bot.audit",
            "bot.policy",
            "bot.observability",
            "bot.server",
            "bot.serve",
            "bot.runtime",
            "bot.settings",
        ),
        "agents are API v1 clients: they reach Signoff over HTTP only",
    ),
}
# Platform adapters are known to the platform rooms and the serve root only; the rest of the
# shell sees the ports and the inbound interface.
ADAPTER_PARTS_ALLOWED_TO = ("bot.platforms", "bot.serve")
NEUTRAL_ADAPTER_MODULES = frozenset(
    {
        "adapters.port",
        "adapters.shell",
        "adapters.inbound",
        "adapters.teams.directory",
        "adapters.signing_keys",
    }
)
MAX_LINES = 300


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def room_complaints(importer: str, imported: str) -> list[str]:
    problems = []
    for room, banned in MUST_NOT_IMPORT.items():
        if not _within(importer, room):
            continue
        for target, why in banned.items():
            if _within(imported, target) and not _within(imported, room):
                problems.append(f"imports {imported}: {why}")
    if (
        _within(importer, "bot")
        and _within(imported, "adapters")
        and imported not in NEUTRAL_ADAPTER_MODULES
        and imported != "adapters"
        and not any(_within(importer, allowed) for allowed in ADAPTER_PARTS_ALLOWED_TO)
    ):
        problems.append(f"imports {imported}: only bot.platforms and bot.serve know adapters")
    return problems


def bare_interpreter_complaints(importer: str, imported: str) -> list[str]:
    """bot.client runs on a CI runner's bare interpreter: the standard library and itself only."""
    if not _within(importer, "bot.client"):
        return []
    top = imported.split(".")[0]
    if top in sys.stdlib_module_names or imported == "bot" or _within(imported, "bot.client"):
        return []
    return [f"imports {imported}: bot.client runs on a bare interpreter, standard library only"]


def _ours(name: str) -> bool:
    return name.split(".")[0] in ("bot", "workflows", "adapters")


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sources("bot", "workflows", "adapters"):
        name = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {
            imported
            for _, imported in imported_modules(tree, name, names_a_package(name))
            if _ours(imported) and imported != name
        }
    return graph


def test_bot_has_only_its_roots_on_top_and_a_docstring_in_every_room() -> None:
    top = {path.stem for path in (ROOT / "bot").glob("*.py")}
    assert top <= TOP_OF_BOT, sorted(top - TOP_OF_BOT)
    rooms = {path.parent.name for path in (ROOT / "bot").glob("*/__init__.py")}
    assert rooms == ROOMS_OF_BOT
    for room in rooms:
        assert ast.get_docstring(ast.parse((ROOT / "bot" / room / "__init__.py").read_text()))


def test_rooms_import_only_downwards() -> None:
    problems = [
        f"{importer}: {problem}"
        for importer, imports in import_graph().items()
        for imported in sorted(imports)
        for problem in room_complaints(importer, imported)
    ]
    assert problems == []


def test_the_client_imports_only_the_standard_library_and_itself() -> None:
    problems = [
        f"{module_name(path)}:{line}: {problem}"
        for path in sources("bot/client")
        for line, imported in imported_modules(
            ast.parse(path.read_text(encoding="utf-8")),
            module_name(path),
            names_a_package(module_name(path)),
        )
        for problem in bare_interpreter_complaints(module_name(path), imported)
    ]
    assert len(sources("bot/client")) >= 2
    assert problems == []


def test_there_is_no_import_cycle() -> None:
    graph = import_graph()
    # A package's own __init__ is imported by its modules by Python itself, not by us.
    sorter = graphlib.TopologicalSorter(
        {name: {i for i in imports if i in graph} for name, imports in graph.items()}
    )
    sorter.prepare()  # raises CycleError naming the cycle


def test_no_module_is_over_300_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sources("bot", "workflows", "adapters")
        for lines in [len(path.read_text(encoding="utf-8").splitlines())]
        if lines > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize(
    ("importer", "imported", "complaint"),
    [
        ("bot.storage.requests", "bot.services.approvals", "storage is the floor"),
        ("bot.delivery.relay", "bot.services", "never calls them"),
        ("bot.services.approvals", "bot.platforms.slack", "called by the surfaces"),
        ("bot.scheduling.sweep", "adapters.slack.chat", "only bot.platforms and bot.serve"),
        ("bot.observability.metrics", "bot.storage.tables", "import nothing ours"),
        ("bot.agents.mcp_server", "bot.services.approvals", "over HTTP only"),
    ],
)
def test_the_room_rules_fire(importer: str, imported: str, complaint: str) -> None:
    assert any(complaint in problem for problem in room_complaints(importer, imported))


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("bot.platforms.slack", "adapters.slack.app"),
        ("bot.services.approvals", "bot.storage.requests"),
        ("bot.delivery.relay", "adapters.port"),
        ("bot.storage.conversations", "adapters.teams.directory"),
    ],
)
def test_the_room_rules_let_downward_imports_through(importer: str, imported: str) -> None:
    assert room_complaints(importer, imported) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("bot.client.request", "pydantic"),
        ("bot.client.wire", "aiohttp.web"),
        ("bot.client.request", "bot.storage.database"),
        ("bot.client.report", "workflows.ledger"),
        ("bot.client", "adapters.api.schema"),
    ],
)
def test_the_bare_interpreter_rule_fires(importer: str, imported: str) -> None:
    assert any(
        "standard library only" in problem
        for problem in bare_interpreter_complaints(importer, imported)
    )


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("bot.client.wire", "urllib.request"),
        ("bot.client.request", "bot.client.wire"),
        ("bot.client.request", "__future__"),
        ("bot.cli", "pydantic"),
    ],
)
def test_the_bare_interpreter_rule_lets_the_standard_library_through(
    importer: str, imported: str
) -> None:
    assert bare_interpreter_complaints(importer, imported) == []


def test_the_cycle_check_fires() -> None:
    sorter = graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}})
    with pytest.raises(graphlib.CycleError):
        sorter.prepare()


def test_the_length_rule_sees_the_source() -> None:
    assert any(path == ROOT / "bot" / "cli.py" for path in sources("bot"))
    assert Path(__file__).resolve().is_relative_to(ROOT)
