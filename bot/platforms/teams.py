"""Wires the Teams adapter into the shell when MICROSOFT_APP_ID and its secret are set.

The only module of `bot` that knows the Teams adapter's parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from adapters.teams.agent import SignoffAgent
from adapters.teams.chat import TeamsChat
from adapters.teams.connections import BOT_FRAMEWORK_SCOPE, OneConnection
from adapters.teams.connector import Connector
from adapters.teams.directory_cache import Answers, CachedDirectory
from adapters.teams.entra import AppOnlyTokens, EntraTokens
from adapters.teams.graph import GraphClient
from adapters.teams.identity import MemberEmail, TeamsIdentity
from adapters.teams.keys import KeySet
from adapters.teams.mris import UserMris
from adapters.teams.route import teams_route
from adapters.teams.token_check import TokenCheck
from adapters.teams.turn_clients import TurnClients
from bot.platforms.shells import chat_shell, review_shell
from bot.runtime import Mount, Runtime
from bot.settings import Settings
from bot.storage.conversations import DatabaseDirectory
from workflows.policy import Policy


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str
    tenant_id: str
    metadata_url: str
    tokens: AppOnlyTokens
    graph_url: str = "https://graph.microsoft.com/v1.0/"
    bot_scope: str = BOT_FRAMEWORK_SCOPE  # what the bot's tokens are for, in its cloud
    # Shared by the port and the route's member look-ups; the route's app closes it.
    connector: Connector = field(init=False, compare=False)
    # People's MRIs: learned by the route from activities, asked for by the port's cards.
    mris: UserMris = field(init=False, compare=False)
    # Where conversations are: written by the route's directory, read by the port's.
    directory_answers: Answers = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "connector", Connector(self.tokens, self.bot_scope))
        object.__setattr__(self, "mris", UserMris(self.connector))
        object.__setattr__(self, "directory_answers", Answers())


def teams_config(settings: Settings) -> TeamsConfig:
    """The bot's identity: client credentials for its single tenant, in its cloud."""
    assert settings.microsoft_app_id and settings.microsoft_app_password
    assert settings.microsoft_app_tenant_id
    tokens = EntraTokens(
        settings.microsoft_app_id,
        settings.microsoft_app_tenant_id,
        settings.microsoft_app_password.get_secret_value(),
        settings.microsoft_authority_host,
    )
    return TeamsConfig(
        settings.microsoft_app_id,
        settings.microsoft_app_tenant_id,
        settings.teams_openid_metadata_url,
        tokens,
        settings.graph_api_url,
        settings.microsoft_bot_scope,
    )


def teams_port(
    config: TeamsConfig, clock: Callable[[], datetime], policy: Callable[[], Policy]
) -> Callable[[AsyncEngine], ChatPort]:
    def make(engine: AsyncEngine) -> ChatPort:
        directory = CachedDirectory(DatabaseDirectory(engine, clock), config.directory_answers)
        graph = GraphClient(config.graph_url, config.tokens)
        return TeamsChat(
            config.connector, directory, config.app_id, config.tenant_id, policy, graph, config.mris
        )

    return make


def member_email(connector: Connector) -> MemberEmail:
    async def look_up(service_url: str, conversation_id: str, member_id: str) -> str | None:
        client = await connector.at(service_url)
        member = await client.conversations.get_conversation_member(conversation_id, member_id)
        extra = member.model_extra or {}
        found = extra.get("email") or extra.get("userPrincipalName")
        return str(found) if found else None

    return look_up


async def on_turn_error(context: TurnContext, error: Exception) -> None:
    # The SDK's default replies with the exception's text; ours lets the route answer.
    raise error


@dataclass(frozen=True)
class TeamsEndpoint:
    """What `/api/messages` is made of, for the regression guard of TEAMS-16."""

    check: TokenCheck
    adapter: CloudAdapter


def add_teams_messages(
    app: web.Application, config: TeamsConfig, runtime: Runtime, clock: Callable[[], datetime]
) -> TeamsEndpoint:
    """`POST /api/messages`: our token checks, then the SDK's adapter, then the services."""
    shell = chat_shell(runtime)
    identity = TeamsIdentity(shell.policy, member_email(config.connector))
    directory = CachedDirectory(DatabaseDirectory(runtime.engine, clock), config.directory_answers)
    agent = SignoffAgent(
        shell, identity, directory, config.tenant_id, config.mris, review_shell(runtime)
    )
    connections = OneConnection(config.tokens, config.bot_scope)
    clients = TurnClients(connections, config.connector)
    adapter = CloudAdapter(connection_manager=connections, channel_service_client_factory=clients)
    adapter.on_turn_error = on_turn_error
    check = TokenCheck(KeySet(config.metadata_url), config.app_id, {config.tenant_id})

    count = runtime.metrics.refusal_counter("teams")
    app.router.add_post("/api/messages", teams_route(check, adapter, agent, count))

    async def close_connector(_: web.Application) -> None:
        # After the relay has stopped: on_cleanup runs once every cleanup context is done.
        await clients.close()
        await config.connector.close()
        await config.tokens.close()

    app.on_cleanup.append(close_connector)
    return TeamsEndpoint(check, adapter)


def teams_mount(config: TeamsConfig, clock: Callable[[], datetime]) -> Mount:
    def mount(app: web.Application, runtime: Runtime) -> None:
        add_teams_messages(app, config, runtime, clock)

    return mount
