"""Wires the Slack adapter into the shell when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.

The only module of `bot` that knows the Slack adapter's parts.
"""

from __future__ import annotations

import time

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import SlackShell, build_bolt, slack_route
from adapters.slack.chat import make_client
from adapters.slack.identity import SlackIdentity
from bot.app import Mount, Runtime
from bot.service import ApprovalService, PolicySource, new_request_id
from bot.settings import Settings
from workflows.policy import Policy


def slack_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)


def add_slack_events(
    app: web.Application,
    secret: str,
    client: AsyncWebClient,
    service: ApprovalService,
    policies: PolicySource,
    team_id: str | None = None,
) -> None:
    """`POST /slack/events`: our gate, then bolt, then the service."""

    def policy() -> Policy:
        return policies.current.policy

    identity = SlackIdentity(client, policy, team_id)
    shell = SlackShell(service.handle, new_request_id, policy, service.waiting_on)
    bolt = build_bolt(secret, client, identity, shell)
    app.router.add_post("/slack/events", slack_route(bolt, secret.encode, time.time))


def slack_mount(settings: Settings, client: AsyncWebClient) -> Mount:
    """Adds the Slack route once the runtime (and so the service) exists."""
    assert settings.slack_signing_secret is not None
    secret = settings.slack_signing_secret.get_secret_value()

    def mount(app: web.Application, runtime: Runtime) -> None:
        add_slack_events(app, secret, client, runtime.service, runtime.policies)

    return mount
