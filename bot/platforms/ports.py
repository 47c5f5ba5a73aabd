"""The chat ports of every platform the settings configure, for `serve` and `signoff sweep`.

A platform room: it knows the adapters' parts, and imports them only for the platforms set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from bot.settings import Settings
from workflows.policy import Policy

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.platforms.teams import TeamsConfig


@dataclass
class PlatformPorts:
    """What delivery needs of each configured platform, and what its routes are built from."""

    ports: dict[str, ChatPort] = field(default_factory=dict)
    # Ports that keep state in the database get the runtime's engine (Teams' directory).
    factories: dict[str, Callable[[AsyncEngine], ChatPort]] = field(default_factory=dict)
    slack: AsyncWebClient | None = None
    teams: TeamsConfig | None = None

    async def close(self) -> None:
        """Close the platforms' HTTP sessions; `serve` leaves this to its mounts."""
        if self.slack is not None and self.slack.session is not None:
            await self.slack.session.close()
        if self.teams is not None:
            await self.teams.connector.close()
            await self.teams.tokens.close()


def platform_ports(
    settings: Settings, clock: Callable[[], datetime], policy: Callable[[], Policy]
) -> PlatformPorts:
    """The ports of Slack and Teams as far as they are configured; call it on a running loop."""
    built = PlatformPorts()
    if settings.slack_configured:
        from adapters.slack.chat import SlackChat
        from bot.platforms.slack import slack_client

        built.slack = slack_client(settings)
        built.ports["slack"] = SlackChat(built.slack)
    if settings.teams_configured:
        from bot.platforms.teams import teams_config, teams_port

        built.teams = teams_config(settings)
        built.factories["teams"] = teams_port(built.teams, clock, policy)
    return built
