"""The policy's `clients:` section: machines that may ask for approvals and never decide; pure.

A client proves who it is with a static token (`token: true`, issued by the CLI) or a
workload identity token whose claims the policy names (GitHub Actions, GitLab CI). What it
may ask for is reviewed policy, never database state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
Forge = Literal["github", "gitlab"]
# The claim naming who started the run, and the one naming the project, on each forge.
ACTOR_CLAIM: dict[Forge, str] = {"github": "actor", "gitlab": "user_login"}
PROJECT_CLAIM: dict[Forge, str] = {"github": "repository", "gitlab": "project_path"}
# Requests one client may open a minute when its entry does not say; a burst of as many.
DEFAULT_REQUESTS_PER_MINUTE = 60


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GitHubTrust(_Model):
    """A GitHub Actions ID token is this client when its claims say so."""

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    environments: tuple[str, ...] = Field(default=(), description="empty: any environment")
    refs: tuple[str, ...] = Field(default=(), description="empty: any ref; e.g. refs/heads/main")


class GitLabTrust(_Model):
    """A GitLab CI ID token is this client when its claims say so."""

    project_path: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
    environments: tuple[str, ...] = ()
    refs: tuple[str, ...] = Field(default=(), description="empty: any; GitLab's ref is bare: main")


class ClientPolicy(_Model):
    token: bool = False
    github: GitHubTrust | None = None
    gitlab: GitLabTrust | None = None
    may_request: Mapping[str, tuple[str, ...]] = Field(min_length=1)
    callbacks: tuple[str, ...] = Field(
        default=(), description="URL prefixes a callback may go to (https)"
    )
    requests_per_minute: int = Field(default=DEFAULT_REQUESTS_PER_MINUTE, ge=1, le=100_000)

    @model_validator(mode="after")
    def _one_way_in(self) -> ClientPolicy:
        if not (self.token or self.github or self.gitlab):
            raise ValueError("a client needs a way in: token: true, github: or gitlab:")
        for prefix in self.callbacks:
            if not prefix.startswith("https://"):
                raise ValueError(f"callback prefix {prefix!r} must start with https://")
        return self

    def may_ask(self, system: str, activity: str) -> bool:
        return activity in self.may_request.get(system, ())


def environment_allowed(allowed: tuple[str, ...], environment: str | None) -> bool:
    """An empty list allows every environment; otherwise the token's must be listed."""
    return not allowed or environment in allowed


class _Logins(Protocol):
    @property
    def github(self) -> str | None: ...

    @property
    def gitlab(self) -> str | None: ...


def _trust(client: ClientPolicy, forge: Forge) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(project, environments, refs) the client trusts on `forge`; an empty project: none."""
    if forge == "github":
        if client.github is None:
            return "", (), ()
        return client.github.repository, client.github.environments, client.github.refs
    if client.gitlab is None:
        return "", (), ()
    return client.gitlab.project_path, client.gitlab.environments, client.gitlab.refs


def trusted_by(
    clients: Mapping[str, ClientPolicy], forge: Forge, claims: Mapping[str, object]
) -> tuple[list[str], str]:
    """The clients whose trust these verified claims meet, and, when none, why not.

    Project names compare without case, as the forges treat them; environments and refs
    exactly. A client listing environments (or refs) refuses a token without one.
    """
    project = claims.get(PROJECT_CLAIM[forge])
    environment, ref = claims.get("environment"), claims.get("ref")
    if not isinstance(project, str) or not project:
        return [], f"the token has no {PROJECT_CLAIM[forge]} claim"
    same_project, matched = [], []
    for name, client in clients.items():
        trusted, environments, refs = _trust(client, forge)
        if not trusted or trusted.casefold() != project.casefold():
            continue
        same_project.append(name)
        if environments and environment not in environments:
            continue
        if refs and ref not in refs:
            continue
        matched.append(name)
    if matched:
        return matched, ""
    if not same_project:
        return [], f"no client of the policy trusts {forge} {PROJECT_CLAIM[forge]} {project!r}"
    return [], (
        f"{forge} {project!r} is trusted by {', '.join(same_project)}, but not for environment "
        f"{environment!r} and ref {ref!r}"
    )


def _overlap(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """Two lists of allowed values let one token through: an empty list allows any."""
    return not first or not second or bool(set(first) & set(second))


def overlapping_trusts(
    clients: Mapping[str, ClientPolicy],
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, problem) for each client that one token could prove as well as an earlier one:
    the same project, and environments and refs that share a value (or allow any)."""
    for forge in ("github", "gitlab"):
        seen: list[tuple[str, tuple[str, tuple[str, ...], tuple[str, ...]]]] = []
        for name, client in clients.items():
            trust = _trust(client, forge)
            project, environments, refs = trust
            if not project:
                continue
            for other, (theirs, their_environments, their_refs) in seen:
                if (
                    theirs.casefold() == project.casefold()
                    and _overlap(environments, their_environments)
                    and _overlap(refs, their_refs)
                ):
                    yield (
                        ("clients", name, forge),
                        f"one {forge} token of {project} could be this client or '{other}'; "
                        "give them environments or refs that do not overlap",
                    )
                    break
            seen.append((name, trust))


def person_of(people: Mapping[str, _Logins], forge: Forge, login: str) -> str | None:
    """The policy person whose `github:` or `gitlab:` login is `login`; forges ignore case."""
    found = [
        person_id
        for person_id, person in people.items()
        if (given := getattr(person, forge)) is not None and given.casefold() == login.casefold()
    ]
    return found[0] if len(found) == 1 else None
