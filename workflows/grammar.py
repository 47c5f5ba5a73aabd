"""The command grammar shared by every platform (`/signoff request ...`); pure, no I/O.

`parse(text)` returns one of the command types below or raises `GrammarError` with one plain
sentence and the usage line. Only the exact grammar is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from workflows.text import has_hidden

MAX_TEXT = 2000
_SYSTEM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,39}$")
_SEVERITY = re.compile(r"^sev[1-4]$")

USAGE: dict[str, str] = {
    "deploy": "deploy <system> <version> [to <env>] [-- <reason>]",
    "request": "request <activity> <system> [<version>] [to <env>] [-- <reason>]",
    "incident": "incident <system> <sev1..sev4> <summary>  |  incident close <id> -- <summary>",
    "review": "review <system>",
    "reviews": "reviews",
    "raci": "raci <system>",
    "status": "status",
    "cancel": "cancel <request-id> [-- <reason>]",
    "help": "help [command | system]",
}

EXPLAIN: dict[str, str] = {
    "deploy": "Ask the Accountable for approval to deploy a version of an AI system.",
    "request": "Ask for approval of any activity the policy names for a system "
    "(help <system> lists them); deploy is its short form.",
    "incident": "Open an incident channel for a system with its RACI inside, or close one.",
    "review": "Start or complete the risk review of a system.",
    "reviews": "List the risk reviews that are due or overdue.",
    "raci": "Show who is Responsible, Accountable, Consulted and Informed for each activity "
    "of a system.",
    "status": "List what waits on you.",
    "cancel": "Withdraw a request you opened.",
    "help": "Show the commands, how to use one, or what can be asked for a system.",
}


@dataclass(frozen=True)
class RequestApproval:
    """`request <activity> <system> ...`, or its short form `deploy <system> <version> ...`.

    Whether the system has the activity is the policy's question, answered by the engine.
    """

    activity: str | None
    system: str | None
    version: str | None = None
    environment: str | None = None
    reason: str | None = None

    @property
    def complete(self) -> bool:
        """Everything a request needs is there; a deployment also names its version."""
        if self.activity is None or self.system is None:
            return False
        return self.activity != "deploy" or self.version is not None


@dataclass(frozen=True)
class OpenIncident:
    system: str
    severity: str
    summary: str


@dataclass(frozen=True)
class CloseIncident:
    incident_id: str
    summary: str


@dataclass(frozen=True)
class Review:
    system: str


@dataclass(frozen=True)
class ListReviews:
    pass


@dataclass(frozen=True)
class ShowRaci:
    system: str


@dataclass(frozen=True)
class ShowStatus:
    pass


@dataclass(frozen=True)
class CancelRequest:
    request_id: str
    reason: str | None = None


@dataclass(frozen=True)
class Help:
    topic: str | None = None


ParsedCommand = (
    RequestApproval
    | OpenIncident
    | CloseIncident
    | Review
    | ListReviews
    | ShowRaci
    | ShowStatus
    | CancelRequest
    | Help
)


class GrammarError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _fail(command: str, sentence: str) -> GrammarError:
    return GrammarError(f"{sentence} Usage: {USAGE[command]}")


def _split(text: str, command: str) -> tuple[list[str], str | None]:
    """Tokens before ` -- `, and the free text after it (trimmed, or None)."""
    head, separator, tail = text.partition(" -- ")
    if not separator and text.endswith(" --"):
        head, tail, separator = text[:-3], "", " -- "
    free = tail.strip() if separator else None
    if free is not None and len(free) > MAX_TEXT:
        raise _fail(command, f"The text after -- is longer than {MAX_TEXT} characters.")
    return head.split(), free or None


def _token(command: str, value: str, pattern: re.Pattern[str], what: str, lower: bool) -> str:
    value = value.lower() if lower else value
    if not pattern.match(value):
        raise _fail(command, f"{value[:80]!r} is not a valid {what}.")
    return value


def _system(command: str, value: str) -> str:
    return _token(command, value, _SYSTEM, "system name", lower=True)


def _no_extra(command: str, tokens: list[str], allowed: int) -> None:
    if len(tokens) > allowed:
        raise _fail(command, f"Unexpected {' '.join(tokens[allowed:])[:80]!r}.")


def _target(command: str, tokens: list[str]) -> str:
    """The environment of `to <env>`, which must end the tokens."""
    if tokens[0].lower() != "to" or len(tokens) < 2:
        raise _fail(command, f"Unexpected {' '.join(tokens)[:80]!r}; write 'to <env>'.")
    _no_extra(command, tokens, 2)
    return _token(command, tokens[1], _SYSTEM, "environment", lower=True)


def _deploy(tokens: list[str], free: str | None) -> RequestApproval:
    system = _system("deploy", tokens[0]) if tokens else None
    version = _token("deploy", tokens[1], _VERSION, "version", False) if len(tokens) > 1 else None
    environment = _target("deploy", tokens[2:]) if len(tokens) > 2 else None
    return RequestApproval("deploy", system, version, environment, free)


def _request(tokens: list[str], free: str | None) -> RequestApproval:
    activity = _token("request", tokens[0], _SYSTEM, "activity", lower=True) if tokens else None
    system = _system("request", tokens[1]) if len(tokens) > 1 else None
    rest = tokens[2:]
    version = environment = None
    if rest and rest[0].lower() != "to":
        version = _token("request", rest[0], _VERSION, "version", False)
        rest = rest[1:]
    if rest:
        environment = _target("request", rest)
    return RequestApproval(activity, system, version, environment, free)


def _incident(tokens: list[str], free: str | None) -> OpenIncident | CloseIncident:
    if tokens and tokens[0].lower() == "close":
        if len(tokens) != 2 or not free:
            raise _fail("incident", "To close an incident give its id, then -- and a summary.")
        return CloseIncident(_token("incident", tokens[1], _ID, "incident id", False), free)
    if len(tokens) < 2:
        raise _fail("incident", "Name the system and the severity.")
    system = _system("incident", tokens[0])
    severity = _token("incident", tokens[1], _SEVERITY, "severity (sev1 to sev4)", lower=True)
    summary = " ".join(tokens[2:] + ([free] if free else [])).strip()
    if not summary:
        raise _fail("incident", "Say in a few words what is happening.")
    if len(summary) > MAX_TEXT:
        raise _fail("incident", f"The summary is longer than {MAX_TEXT} characters.")
    return OpenIncident(system, severity, summary)


def _one_system(command: str) -> Callable[[list[str], str | None], ParsedCommand]:
    kinds: dict[str, Callable[[str], ParsedCommand]] = {"review": Review, "raci": ShowRaci}

    def parse_one(tokens: list[str], free: str | None) -> ParsedCommand:
        if not tokens:
            raise _fail(command, "Name the system.")
        _no_extra(command, tokens, 1)
        if free is not None:
            raise _fail(command, "This command takes no text after --.")
        return kinds[command](_system(command, tokens[0]))

    return parse_one


def _bare(command: str, result: ParsedCommand) -> Callable[[list[str], str | None], ParsedCommand]:
    def parse_bare(tokens: list[str], free: str | None) -> ParsedCommand:
        if tokens or free is not None:
            raise _fail(command, f"'{command}' takes no arguments.")
        return result

    return parse_bare


def _cancel(tokens: list[str], free: str | None) -> CancelRequest:
    if not tokens:
        raise _fail("cancel", "Name the request to cancel.")
    _no_extra("cancel", tokens, 1)
    return CancelRequest(_token("cancel", tokens[0], _ID, "request id", False), free)


def _help(tokens: list[str], free: str | None) -> Help:
    """`help`, `help <command>`, or `help <system>` (which the shell looks up in the policy)."""
    if not tokens:
        return Help()
    topic = tokens[0].lower()
    if len(tokens) > 1 or free is not None or not (topic in USAGE or _SYSTEM.match(topic)):
        raise _fail("help", f"There is no help on {' '.join(tokens)[:80]!r}.")
    return Help(topic)


PARSERS: dict[str, Callable[[list[str], str | None], ParsedCommand]] = {
    "deploy": _deploy,
    "request": _request,
    "incident": _incident,
    "review": _one_system("review"),
    "reviews": _bare("reviews", ListReviews()),
    "raci": _one_system("raci"),
    "status": _bare("status", ShowStatus()),
    "cancel": _cancel,
    "help": _help,
}


def parse(text: str) -> ParsedCommand:
    """One command from what a person typed; an optional leading `/signoff` is ignored."""
    if len(text) > MAX_TEXT + 200:
        raise GrammarError(f"That is too long; keep commands under {MAX_TEXT} characters.")
    # Control, bidi and zero-width characters have no place in a command; they only disguise.
    if has_hidden(text):
        raise GrammarError("The command contains control or invisible characters; retype it.")
    words = text.strip().split(None, 1)
    if words and words[0].lower() in ("/signoff", "signoff"):
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words:
        return Help()
    command = words[0].lower()
    if command not in PARSERS:
        known = ", ".join(PARSERS)
        raise GrammarError(f"Unknown command {command[:40]!r}. Commands: {known}.")
    tokens, free = _split(" " + (words[1] if len(words) > 1 else ""), command)
    return PARSERS[command](tokens, free)


def help_text(topic: str | None = None) -> str:
    """Every command with one line each, or one command's usage and purpose."""
    if topic is not None and topic in USAGE:
        return f"{USAGE[topic]}\n{EXPLAIN[topic]}"
    return "\n".join(f"{USAGE[name]}\n    {EXPLAIN[name]}" for name in USAGE)
