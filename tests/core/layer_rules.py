"""The layer rules as functions from source text to complaints, and the files they read.

workflows/ is the pure core: it imports nothing of ours but itself and, from outside, only
what is on an allowlist of computation-only modules (no I/O, clock, randomness or logging).
adapters/ translate and never reach into bot/ or the database. Nothing in bot/, workflows/ or
adapters/ builds an app, engine or client at import time. Every module says what it is for.
test_layers.py applies these rules to the source; test_layer_rules.py shows each one firing
on a bad example, since a checker that never fires proves nothing. Standard library only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "workflows", "adapters")
# What a relative import that climbs out of our top-level package resolves to.
BEYOND = "<relative import beyond the top-level package>"

# Computation only. Anything else needs a reason to be added here, in review.
WORKFLOWS_MAY_IMPORT = frozenset(
    {
        "__future__",
        "abc",
        "base64",
        "bisect",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "graphlib",
        "hashlib",
        "heapq",
        "hmac",
        "itertools",
        "json",
        "math",
        "numbers",
        "operator",
        "re",
        "string",
        "textwrap",
        "types",
        "typing",
        "typing_extensions",
        "unicodedata",
        "zoneinfo",
        "yaml",
        "pydantic",
        "pydantic_core",
        # JSON encoding only: the ledger's canonical form, several times faster than `json`
        # and byte for byte the same (tests/core/test_ledger_encoding.py).
        "orjson",
        "workflows",
    }
)

# Named so that the complaint can say why; anything off the allowlist is refused anyway.
WORKFLOWS_MUST_NOT_IMPORT = {
    "bot": "the shell depends on the core, never the reverse",
    "adapters": "adapters depend on the core, never the reverse",
    "migrations": "the schema belongs to the shell",
    "logging": "logging is a side effect; return what happened and let the shell log it",
    "time": "the time is an argument",
    "uuid": "uuid4 is randomness; ids are passed in",
    "random": "randomness is passed in",
    "secrets": "randomness is passed in",
    **dict.fromkeys(
        (
            "os",
            "sys",
            "io",
            "pathlib",
            "shutil",
            "tempfile",
            "glob",
            "sqlite3",
            "pickle",
            "socket",
            "ssl",
            "select",
            "signal",
            "subprocess",
            "threading",
            "multiprocessing",
            "asyncio",
            "urllib",
            "http",
            "requests",
            "httpx",
            "aiohttp",
            "importlib",
            "warnings",
        ),
        "no I/O, processes, threads or dynamic imports in the core",
    ),
    **dict.fromkeys(
        (
            "sqlalchemy",
            "alembic",
            "asyncpg",
            "aiosqlite",
            "slack_bolt",
            "slack_sdk",
            "microsoft_agents",
            "botbuilder",
            "apscheduler",
            "prometheus_client",
            "pydantic_settings",
        ),
        "no database, SDK, scheduler, metrics or environment in the core",
    ),
}

# Builtins that reach the outside world or load code.
WORKFLOWS_MUST_NOT_CALL = frozenset(
    {"open", "print", "input", "exec", "eval", "compile", "__import__", "breakpoint"}
)
# `datetime.now()`, `date.today()` and friends: the core is handed the time.
CLOCK_METHODS = frozenset({"now", "utcnow", "today"})

ADAPTERS_MUST_NOT_IMPORT = {
    "bot": "adapters translate; the shell composes them, not the reverse",
    "migrations": "the schema belongs to the shell",
    **dict.fromkeys(
        ("sqlalchemy", "alembic", "asyncpg", "aiosqlite"),
        "adapters never open a database session",
    ),
}

# Callables that build an app, engine, client or scheduler. Matched on the last name of the
# callee, so `web.Application()` and `Application()` are both caught.
CONSTRUCTORS = frozenset(
    {
        "create_engine",
        "create_async_engine",
        "engine_from_config",
        "async_engine_from_config",
        "sessionmaker",
        "async_sessionmaker",
        "Application",
        "AppRunner",
        "ClientSession",
        "App",
        "AsyncApp",
        "WebClient",
        "AsyncWebClient",
        "SocketModeHandler",
        "AsyncSocketModeHandler",
        "CloudAdapter",
        "AgentApplication",
        "MsalConnectionManager",
        "BackgroundScheduler",
        "AsyncIOScheduler",
        "new_event_loop",
        # pydantic-settings reads the environment when built; tests must be able to set it first.
        "Settings",
    }
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def names_a_package(module: str) -> bool:
    return (ROOT / Path(*module.split(".")) / "__init__.py").exists()


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import anywhere in the tree.

    Imports inside functions and under `if TYPE_CHECKING:` count too: they are still a
    dependency a reader has to follow.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield node.lineno, node.module or ""
                continue
            base = package.split(".") if package else []
            if node.level - 1 > len(base) - 1:
                yield node.lineno, BEYOND
                continue
            base = base[: len(base) - (node.level - 1)]
            yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def check_workflows(source: str, module: str, is_package: bool = False) -> list[str]:
    tree = ast.parse(source)
    problems: list[str] = []
    for line, name in imported_modules(tree, module, is_package):
        top = name.split(".")[0]
        if name == BEYOND:
            problems.append(f"{line}: {BEYOND}")
        elif top in WORKFLOWS_MUST_NOT_IMPORT:
            problems.append(f"{line}: imports {name}: {WORKFLOWS_MUST_NOT_IMPORT[top]}")
        elif top not in WORKFLOWS_MAY_IMPORT:
            problems.append(f"{line}: imports {name}, which is not on the workflows allowlist")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in WORKFLOWS_MUST_NOT_CALL:
            problems.append(f"{node.lineno}: calls {node.func.id}(): no I/O in the core")
        elif isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_METHODS:
            problems.append(f"{node.lineno}: calls .{node.func.attr}(): the time is an argument")
    return problems


def check_adapters(source: str, module: str, is_package: bool = False) -> list[str]:
    problems: list[str] = []
    for line, name in imported_modules(ast.parse(source), module, is_package):
        top = name.split(".")[0]
        if name == BEYOND:
            problems.append(f"{line}: {BEYOND}")
        elif top in ADAPTERS_MUST_NOT_IMPORT:
            problems.append(f"{line}: imports {name}: {ADAPTERS_MUST_NOT_IMPORT[top]}")
    return problems


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _runs_at_import(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes evaluated when the module is imported: not function or lambda bodies (but
    their decorators and default values), not the `if __name__ == "__main__":` branch."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        evaluated: list[ast.AST] = [
            *(node.decorator_list if not isinstance(node, ast.Lambda) else []),
            *node.args.defaults,
            *(default for default in node.args.kw_defaults if default is not None),
        ]
        for child in evaluated:
            yield from _runs_at_import(child)
        return
    if isinstance(node, ast.If) and _is_main_guard(node.test):
        for child in node.orelse:
            yield from _runs_at_import(child)
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _runs_at_import(child)


def check_import_time(source: str) -> list[str]:
    return [
        f"{node.lineno}: calls {_callee(node)}() at import time; build it in a factory"
        for node in _runs_at_import(ast.parse(source))
        if isinstance(node, ast.Call) and _callee(node) in CONSTRUCTORS
    ]


def check_docstring(source: str) -> list[str]:
    docstring = ast.get_docstring(ast.parse(source))
    return [] if docstring and docstring.strip() else ["1: no module docstring saying its role"]


def sources(*packages: str) -> list[Path]:
    return sorted(
        path
        for package in packages
        for path in (ROOT / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def report(problems: dict[Path, list[str]]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{problem}"
        for path, found in problems.items()
        for problem in found
    ]
