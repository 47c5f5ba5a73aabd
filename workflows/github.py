"""The policy's `github:` section: which GitHub environment gates which system; pure.

Imports pydantic only (the policy schema imports this). A GitHub App's deployment protection
rule asks Signoff when a job targets an environment; the policy says which system's `deploy`
that is, per repository and environment. GitHub compares repository and environment names
without regard to case, and so does this map.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The platform of requests the deployment gate opens; their platform_user_id is the repository.
GITHUB = "github"
ACTIVITY = "deploy"
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,39}/[A-Za-z0-9_.-]{1,100}$")
SYSTEM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_KEY = 200  # the Idempotency-Key column's length

Path = tuple[str | int, ...]


class GitHubGate(BaseModel):
    """`environments: {owner/repo: {environment: system}}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    environments: dict[str, dict[str, str]] = Field(min_length=1)

    @field_validator("environments")
    @classmethod
    def _names(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for repository, environments in value.items():
            if not REPOSITORY.match(repository):
                raise ValueError(f"'{repository}' is not a repository; write it as owner/name")
            if not environments:
                raise ValueError(f"{repository}: name at least one environment")
            for environment, system in environments.items():
                if not environment.strip() or len(environment) > 255:
                    raise ValueError(f"{repository}: '{environment}' is not an environment name")
                if not SYSTEM.match(system):
                    raise ValueError(
                        f"{repository}: {environment}: '{system}' is not a system name"
                    )
        folded = [r.casefold() for r in value]
        if len(set(folded)) != len(folded):
            raise ValueError("a repository is listed twice (names are compared without case)")
        return value

    def system_for(self, repository: str, environment: str) -> str | None:
        """The system a deployment of `repository` to `environment` asks for, if any."""
        for known, environments in self.environments.items():
            if known.casefold() != repository.casefold():
                continue
            for name, system in environments.items():
                if name.casefold() == environment.casefold():
                    return system
        return None


def gate_findings(
    gate: GitHubGate, activities: Mapping[str, tuple[str, ...]]
) -> Iterator[tuple[Path, str]]:
    """Every environment names a system of the inventory that has a `deploy` approval;
    `activities` gives each system's approval activities."""
    for repository, environments in gate.environments.items():
        for environment, system in environments.items():
            path: Path = ("github", "environments", repository, environment)
            if system not in activities:
                known = ", ".join(sorted(activities)) or "none"
                yield path, f"unknown system '{system}' (known: {known})"
            elif ACTIVITY not in activities[system]:
                yield path, f"{system} has no deploy approval for the gate to ask for"


class GateRun(BaseModel):
    """What GitHub asked, kept beside the request it opened: where and how to answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repository: str
    environment: str
    run_id: str
    callback_url: str
    installation_id: int
    deployment_id: int | None = None
    sender: str | None = None
    sha: str = ""
    ref: str = ""
    event: str = ""
    run_url: str | None = None

    @property
    def key(self) -> str:
        """One request per run and environment, whatever attempt or delivery asks; a
        digest of it when it is too long to keep as an Idempotency-Key."""
        key = f"{self.repository.casefold()}#{self.run_id}#{self.environment.casefold()}"
        return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()
