"""The policy's `clients:` section: machines that may ask for approvals and never decide; pure.

A client proves who it is with a static token (`token: true`, issued by the CLI) or a
workload identity token whose claims the policy names (GitHub Actions, GitLab CI). What it
may ask for is reviewed policy, never database state.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GitHubTrust(_Model):
    """A GitHub Actions ID token is this client when its claims say so."""

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    environments: tuple[str, ...] = Field(default=(), description="empty: any environment")


class GitLabTrust(_Model):
    """A GitLab CI ID token is this client when its claims say so."""

    project_path: str = Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
    environments: tuple[str, ...] = ()


class ClientPolicy(_Model):
    token: bool = False
    github: GitHubTrust | None = None
    gitlab: GitLabTrust | None = None
    may_request: Mapping[str, tuple[str, ...]] = Field(min_length=1)
    callbacks: tuple[str, ...] = Field(
        default=(), description="URL prefixes a callback may go to (https)"
    )

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


def callback_allowed(prefixes: tuple[str, ...], url: str) -> bool:
    return any(url.startswith(prefix) for prefix in prefixes)
