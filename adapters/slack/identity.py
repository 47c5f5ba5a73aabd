"""Maps a Slack account to a policy person; never imports `bot`.

The policy's `slack:` id decides first; otherwise, for an account of the workspace Signoff is
installed in (learned from `auth.test`), the account's email from `users.info` (scope
`users:read.email`). Bots, guests and deactivated accounts never become a person. An account
of another workspace (a Slack Connect partner, another organisation) is an outsider unless
the policy names its Slack id: an email proves nothing across organisations (AUTHZ-18).
Emails are cached per account; the person is looked up in the policy in force each time, so
a reload takes effect at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.port import ServiceUnavailable
from workflows.inventory import person_by_email, person_by_platform_id
from workflows.model import Actor
from workflows.policy import Policy

log = logging.getLogger("signoff.slack")


class SlackIdentity:
    def __init__(
        self, client: AsyncWebClient, policy: Callable[[], Policy], team_id: str | None = None
    ) -> None:
        self.client = client
        self.policy = policy
        # The installation's workspace; None until `learn_team` has asked Slack.
        self.team_id = team_id
        self._emails: dict[str, str | None] = {}
        self._learning = asyncio.Lock()

    async def learn_team(self) -> str | None:
        """The workspace Signoff is installed in, from `auth.test`; None while Slack cannot say.

        Asked at start-up and, until it is known, again by the next request that needs it.
        """
        if self.team_id is not None:
            return self.team_id
        async with self._learning:
            if self.team_id is None:
                try:
                    response = await self.client.auth_test()
                except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                    log.warning(
                        "auth.test failed, the installation's workspace is unknown: %s", error
                    )
                    return None
                team = response.get("team_id")
                if isinstance(team, str) and team:
                    self.team_id = team
                    log.info("Slack: installed in workspace %s", team)
        return self.team_id

    async def outsider(self, user_id: str, team_id: str | None) -> bool:
        """Whether the account belongs to another workspace and the policy does not name it.

        An account whose workspace the payload does not say is an outsider too. Raises
        `ServiceUnavailable` while the installation's own workspace is unknown: refusing
        everyone would be wrong, and letting everyone through unsafe.
        """
        home = await self.learn_team()
        if home is None:
            raise ServiceUnavailable("the Slack workspace Signoff is installed in is not known yet")
        if team_id == home:
            return False
        return person_by_platform_id(self.policy(), "slack", user_id) is None

    async def actor(self, user_id: str, team_id: str | None = None) -> Actor:
        """The actor for a Slack account; `person` is None for anyone who may not count."""
        policy = self.policy()
        person = person_by_platform_id(policy, "slack", user_id)
        if person is None and team_id is not None and team_id == self.team_id:
            email = await self._email(user_id)
            person = person_by_email(policy, email) if email else None
        return Actor(person=person, platform="slack", platform_user_id=user_id)

    async def _email(self, user_id: str) -> str | None:
        if user_id not in self._emails:
            try:
                response = await self.client.users_info(user=user_id)
            except SlackApiError as error:
                # Not cached: a failed look-up (rate limit, outage) is asked again next time.
                log.warning("users.info for %s failed: %s", user_id, error.response.get("error"))
                return None
            self._emails[user_id] = _email_of(response.get("user") or {})
        return self._emails[user_id]


def _email_of(user: dict[str, Any]) -> str | None:
    """The email of an account that may count: not deleted, a bot, a guest or external."""
    if any(
        user.get(flag)
        for flag in ("deleted", "is_bot", "is_restricted", "is_ultra_restricted", "is_stranger")
    ):
        return None
    email = (user.get("profile") or {}).get("email")
    return str(email) if email else None
