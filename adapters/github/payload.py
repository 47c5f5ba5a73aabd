"""A `deployment_protection_rule` delivery as the gate needs it, or why it is not one.

Imports pydantic only. The callback URL is where Signoff will send an installation token,
so it must lie under the configured GitHub API and name the delivery's own repository and
run; anything else is refused as malformed, whoever signed it.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EVENT = "deployment_protection_rule"
_CALLBACK = re.compile(
    r"^repos/(?P<repository>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/actions/runs/(?P<run>[0-9]{1,20})"
    r"/deployment_protection_rule$"
)


class Malformed(Exception):
    """The body is not a deployment protection rule this gate can answer."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Named(_Loose):
    id: int = Field(ge=1)


class _Repository(_Loose):
    full_name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,39}/[A-Za-z0-9_.-]{1,100}$")


class _Sender(_Loose):
    login: str = Field(min_length=1, max_length=64)


class _Payload(_Loose):
    action: str
    environment: str = Field(min_length=1, max_length=255)
    event: str = Field(default="", max_length=64)
    sha: str = Field(default="", pattern=r"^[0-9a-f]{0,64}$")
    ref: str = Field(default="", max_length=255)
    deployment_callback_url: str = Field(min_length=1, max_length=2000)
    deployment: _Named | None = None
    installation: _Named
    repository: _Repository
    sender: _Sender | None = None


class DeploymentAsk(_Loose):
    """A job waiting on an environment whose protection rule is this App."""

    repository: str
    environment: str
    event: str
    sha: str
    ref: str
    callback_url: str
    run_id: str
    installation_id: int
    deployment_id: int | None
    sender: str | None
    run_url: str


def action_of(body: bytes) -> str | None:
    """The delivery's `action`, or None when the body is no JSON object with one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    action = data.get("action") if isinstance(data, dict) else None
    return action if isinstance(action, str) else None


def parse_ask(body: bytes, api_url: str) -> DeploymentAsk:
    """The ask in a `requested` delivery; raises `Malformed` saying what is wrong."""
    try:
        payload = _Payload.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise Malformed(f"{where}: {first['msg']}") from None
    base = api_url.rstrip("/") + "/"
    url = payload.deployment_callback_url
    found = _CALLBACK.match(url[len(base) :]) if url.startswith(base) else None
    if found is None:
        raise Malformed(
            "deployment_callback_url is not a run's deployment_protection_rule URL under "
            "GITHUB_API_URL"
        )
    if found["repository"].casefold() != payload.repository.full_name.casefold():
        raise Malformed("deployment_callback_url names another repository")
    return DeploymentAsk(
        repository=payload.repository.full_name,
        environment=payload.environment,
        event=payload.event,
        sha=payload.sha,
        ref=payload.ref,
        callback_url=url,
        run_id=found["run"],
        installation_id=payload.installation.id,
        deployment_id=payload.deployment.id if payload.deployment else None,
        sender=payload.sender.login if payload.sender else None,
        run_url=f"{_web(base)}/{payload.repository.full_name}/actions/runs/{found['run']}",
    )


def _web(api_base: str) -> str:
    """Where people see the run: github.com for its API, the server for Enterprise Server's
    `https://HOST/api/v3`, the API's own address otherwise."""
    if api_base.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_base.rstrip("/").removesuffix("/api/v3")
