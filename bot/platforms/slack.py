"""Wires the Slack adapter into the shell when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.

The only module of `bot` that knows the Slack adapter's parts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import build_bolt, slack_route
from adapters.slack.chat import lookup_client, make_client
from adapters.slack.identity import SlackIdentity
from adapters.slack.outsiders import add_outsider_gate
from adapters.slack.signing import SigningSecrets
from bot.platforms.shells import chat_shell, review_shell
from bot.runtime import Mount, Runtime
from bot.services.outsiders import OutsiderRefusals
from bot.settings import Settings

log = logging.getLogger("signoff.slack")


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client, on one HTTP session that `slack_mount` closes at shutdown.

    Call it with the event loop running (aiohttp binds the session to it).
    """
    assert settings.slack_bot_token is not None
    return make_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url, aiohttp.ClientSession()
    )


def signing_secrets(settings: Settings) -> SigningSecrets:
    """The secret in force and, until the rotation's overlap ends, the one it replaced."""
    assert settings.slack_signing_secret is not None
    previous = settings.slack_previous_signing_secret
    until = settings.slack_previous_signing_secret_until
    return SigningSecrets(
        current=settings.slack_signing_secret.get_secret_value().encode(),
        previous=previous.get_secret_value().encode() if previous else b"",
        previous_until=until.timestamp() if until else 0.0,
    )


def add_slack_events(
    app: web.Application,
    secrets: SigningSecrets,
    client: AsyncWebClient,
    runtime: Runtime,
    team_id: str | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """`POST /slack/events`: our gate, then bolt, then the services.

    `team_id` is the installation's workspace when it is known beforehand; otherwise it is
    learned from Slack at start-up.
    """
    bolt = slack_bolt(app, client, runtime, team_id)
    route = slack_route(bolt, secrets, clock, runtime.metrics.refusal_counter("slack"))
    app.router.add_post("/slack/events", route)


def slack_bolt(
    app: web.Application, client: AsyncWebClient, runtime: Runtime, team_id: str | None = None
) -> AsyncApp:
    """The bolt app with our listeners, shared by the HTTP route and Socket Mode.

    The installation's workspace is learned from `auth.test` when `app` starts, so that
    accounts of other workspaces are refused from the first request on.
    """
    shell = chat_shell(runtime)
    identity = SlackIdentity(lookup_client(client), shell.policy, team_id)

    async def learn_team(_: web.Application) -> AsyncIterator[None]:
        # In the background, like Socket Mode: start-up must not wait for an unreachable
        # Slack. A request that comes first waits for the answer (or asks again).
        learning = asyncio.create_task(identity.learn_team())
        yield
        learning.cancel()

    app.cleanup_ctx.append(learn_team)
    bolt = build_bolt(client, identity, shell, review_shell(runtime))
    outsiders = OutsiderRefusals(runtime.service.uow)
    add_outsider_gate(bolt, identity, outsiders.refuse)
    return bolt


def add_socket_mode(
    app: web.Application, app_token: str, client: AsyncWebClient, runtime: Runtime
) -> None:
    """Keeps a Socket Mode connection open while the application runs."""

    bolt = slack_bolt(app, client, runtime)

    async def connection(_: web.Application) -> AsyncIterator[None]:
        handler = AsyncSocketModeHandler(bolt, app_token, web_client=client)
        # In the background: the SDK retries an unreachable Slack forever, and health checks
        # and the relay must not wait for it.
        connecting = asyncio.create_task(handler.connect_async())  # type: ignore[no-untyped-call]
        log.info("Slack Socket Mode: connecting")
        yield
        connecting.cancel()
        await handler.close_async()  # type: ignore[no-untyped-call]

    app.cleanup_ctx.append(connection)


def slack_mount(settings: Settings, client: AsyncWebClient) -> Mount:
    """Adds the Slack route, Socket Mode or both once the runtime (and its service) exists."""
    secrets = signing_secrets(settings) if settings.slack_over_http else None
    app_token = settings.slack_app_token if settings.slack_socket_mode else None

    async def close_session(_: web.Application) -> None:
        # After the relay has stopped: on_cleanup runs once every cleanup context is done.
        if client.session is not None:
            await client.session.close()

    def mount(app: web.Application, runtime: Runtime) -> None:
        if secrets is not None:
            add_slack_events(app, secrets, client, runtime)
        if app_token is not None:
            add_socket_mode(app, app_token.get_secret_value(), client, runtime)
        app.on_cleanup.append(close_session)

    return mount
