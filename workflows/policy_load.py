"""Parses policy YAML text into a `Policy`, with `FILE:LINE: reason` for every problem; no I/O.

It is given text, never a path: reading the file is the shell's job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from workflows.policy import Policy
from workflows.policy_rules import Path, check_rules
from workflows.policy_yaml import MAX_BYTES, YamlProblem, dotted, parse_document


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PolicyError(Exception):
    """A policy that cannot be used; `problems` holds every reason, in file order."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.line, p.message)))
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    digest: str
    source: str


def load_policy(text: str | bytes, source: str) -> LoadedPolicy:
    """Parse and validate; raises PolicyError listing every problem found."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_BYTES:
        message = f"the file is larger than 1 MiB ({MAX_BYTES} bytes); a policy may be at most that"
        raise PolicyError([Problem(source, 1, message)])
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise PolicyError([Problem(source, line, "the file is not valid UTF-8 text")]) from None
    try:
        document = parse_document(decoded)
    except YamlProblem as problem:
        raise PolicyError([Problem(source, problem.line, problem.message)]) from None
    if document.duplicates:
        raise PolicyError([Problem(source, d.line, d.message) for d in document.duplicates])
    lines, data = document.lines, document.data
    if not isinstance(data, dict):
        raise PolicyError(
            [Problem(source, 1, "the policy must be a mapping (key: value) at the top")]
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(
            [_schema_problem(e, lines, source) for e in error.errors(include_url=False)]
        ) from None
    problems = [
        Problem(source, _line_of(path, lines), f"{dotted(path)}: {message}")
        for path, message in check_rules(policy)
    ]
    if problems:
        raise PolicyError(problems)
    return LoadedPolicy(policy, hashlib.sha256(raw).hexdigest(), source)


def _line_of(path: Path, lines: dict[Path, int]) -> int:
    """The line of `path`, or of its nearest ancestor present in the file."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _schema_problem(error: ErrorDetails, lines: dict[Path, int], source: str) -> Problem:
    path: Path = tuple(p for p in error["loc"] if p != "[key]")
    where = dotted(path)
    kind, given = error["type"], error.get("input")
    if kind == "missing":
        message = f"{where}: required field is missing"
    elif kind == "extra_forbidden":
        message = f"{where}: unknown field '{path[-1]}'"
    elif path and path[-1] == "accountable" and isinstance(given, list):
        message = (
            f"{where}: exactly one Accountable role per activity (the RACI rule); "
            f"found {len(given)}"
        )
    elif "[key]" in error["loc"] and kind == "literal_error":
        message = f"{where}: unknown activity; use deploy, risk-review or incident"
    elif kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        message = f"{where}: {given!r} is not allowed; expected {expected}"
    elif kind == "string_pattern_mismatch":
        message = f"{where}: {given!r} is not a valid {_what(path)}"
    elif kind == "value_error":
        message = f"{where}: {error.get('ctx', {}).get('error', error['msg'])!s}"
    else:
        message = f"{where}: {error['msg']}"
    return Problem(source, _line_of(path, lines), message)


def _what(path: Path) -> str:
    last = str(path[-1]) if path else ""
    return {"email": "email address", "slack": "Slack user id (U... or W...)"}.get(
        last, "name (lowercase letters, digits, - and _)"
    )
