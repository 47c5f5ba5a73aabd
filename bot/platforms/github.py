"""The GitHub deployment gate, mounted when a GitHub App is configured; its App client.

A platform room: the only module that knows `adapters.github`'s parts. It mounts
`POST /github/webhook` in front of the gate service, and teaches the relay to send
`github-review` messages: each one a POST to the run's callback with an installation token,
through the same outbound sender (and address rules) as every other outbound POST. A 401
there means the cached token was revoked or ended early: it is dropped and the review sent
once more with a fresh one; a second 401 is permanent.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.github.app import GitHubApp
from adapters.github.payload import DeploymentAsk
from adapters.github.route import GateAnswer, GateSettings, github_routes
from adapters.port import PermanentFailure
from bot.delivery.messages import GitHubReview, Outbound
from bot.delivery.outbound import OutboundDelivery, OutboundPost, Preparer, Unauthorized
from bot.runtime import Mount, Runtime
from bot.services.api_requests import ApiRequests
from bot.services.github_gate import GitHubGateService
from bot.settings import Settings
from workflows.github import GITHUB, GateRun
from workflows.policy import Policy

log = logging.getLogger("signoff.github")
NAMES = ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET")


def _values(settings: Settings) -> tuple[str, str, str]:
    key = settings.github_app_private_key
    secret = settings.github_webhook_secret
    return (
        (settings.github_app_id or "").strip(),
        # An environment variable often carries the PEM's line breaks as `\n`.
        key.get_secret_value().replace("\\n", "\n").strip() if key else "",
        secret.get_secret_value() if secret else "",
    )


def github_configured(settings: Settings) -> bool:
    return all(v.strip() for v in _values(settings))


def github_problem(settings: Settings) -> str | None:
    """Why `serve` must not start with these GitHub settings, or None."""
    values = _values(settings)
    given = [name for name, value in zip(NAMES, values, strict=True) if value.strip()]
    if not given:
        return None
    if len(given) < len(NAMES):
        missing = ", ".join(n for n in NAMES if n not in given)
        return f"the GitHub gate is half configured: {missing} not set (or blank)"
    try:
        key = load_pem_private_key(values[1].encode(), password=None)
    except (ValueError, TypeError) as error:
        return f"GITHUB_APP_PRIVATE_KEY is not a PEM private key without a password: {error}"
    if not isinstance(key, RSAPrivateKey):
        return "GITHUB_APP_PRIVATE_KEY is not an RSA key; a GitHub App's key is"
    if not settings.github_api_url.startswith(("https://", "http://")):
        return "GITHUB_API_URL must be an http(s) URL, such as https://api.github.com"
    return None


def github_app(settings: Settings, tls: ssl.SSLContext | None = None) -> GitHubApp:
    app_id, key, _ = _values(settings)
    return GitHubApp(app_id, key, settings.github_api_url, tls=tls)


def report(settings: Settings) -> str:
    if github_configured(settings):
        return "GitHub gate: enabled on POST /github/webhook (deployment protection rules)"
    return (
        "GitHub gate: disabled; set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and "
        "GITHUB_WEBHOOK_SECRET to enable it"
    )


def review_preparer(app: GitHubApp) -> Preparer:
    """The outbound preparer of `github-review`: the verdict as GitHub takes it, with an
    installation token, only ever to a run under GITHUB_API_URL."""

    async def prepare(
        conn: AsyncConnection, policy: Policy, message: GitHubReview, now: datetime
    ) -> OutboundPost:
        base = app.api_url.rstrip("/") + "/"
        if not message.url.startswith(base):
            raise PermanentFailure(f"{message.url} is not under GITHUB_API_URL ({base})")
        answer: dict[str, str] = {"environment_name": message.environment}
        if message.state is not None:
            answer["state"] = message.state
        answer["comment"] = message.comment
        token = await app.installation_token(message.installation_id)
        headers = {**app.headers(token), "Content-Type": "application/json"}
        return OutboundPost(message.url, json.dumps(answer).encode(), headers)

    return prepare


@dataclass
class GateDelivery(OutboundDelivery):
    """Every outbound kind as before; a review GitHub answers 401 gets one more try with a
    fresh installation token."""

    app: GitHubApp

    async def deliver(
        self, engine: AsyncEngine, policy: Policy, message: Outbound, now: datetime
    ) -> None:
        if not isinstance(message, GitHubReview):
            await super().deliver(engine, policy, message, now)
            return
        for renewed in (False, True):
            post = await self.prepared(engine, policy, message, now)
            try:
                await self.sender.send(post)
                return
            except Unauthorized:
                if renewed:
                    raise
                token = post.headers["Authorization"].removeprefix("Bearer ")
                self.app.forget(message.installation_id, token)
                log.info(
                    "GitHub refused installation %s's token; trying a fresh one",
                    message.installation_id,
                )


def add_github(runtime: Runtime, app: GitHubApp) -> None:
    """Let the relay send the gate's reviews; serve and `signoff sweep` both call it."""
    outbound = runtime.relay.outbound
    kinds = {**outbound.kinds, "github-review": review_preparer(app)}
    runtime.relay.outbound = GateDelivery(outbound.sender, kinds, app)


class _Shell:
    """`GateShell` over the gate service."""

    def __init__(self, service: GitHubGateService) -> None:
        self.service = service

    async def deployment(self, ask: DeploymentAsk) -> GateAnswer:
        run = GateRun.model_validate(ask.model_dump())
        opened = await self.service.deployment(run)
        return GateAnswer(opened.request_id, opened.created, opened.refusal, opened.in_flight)


def github_mount(settings: Settings, app: GitHubApp) -> Mount:
    """Adds the webhook route and the reviews' sender once the runtime exists."""
    secret = _values(settings)[2].encode()

    def mount(web_app: web.Application, runtime: Runtime) -> None:
        service = GitHubGateService(ApiRequests(runtime.service))
        gate = GateSettings(secret, settings.github_api_url)
        counter = runtime.metrics.refusal_counter(GITHUB)
        web_app.router.add_routes(github_routes(_Shell(service), gate, counter))
        add_github(runtime, app)

        async def close(_: web.Application) -> None:
            await app.close()

        web_app.on_cleanup.append(close)

    return mount


def attach_github(settings: Settings, runtime: Runtime) -> GitHubApp | None:
    """For `signoff sweep`: its relay sends the reviews an expiry queues, as serve's does."""
    if not github_configured(settings):
        return None
    app = github_app(settings)
    add_github(runtime, app)
    return app
