"""Maps a Slack account to a policy person; never imports `bot`.

The policy's `slack:` id decides first; otherwise the account's email from `users.info`
(scope `users:read.email`). Bots, guests, deactivated accounts and accounts of another
workspace never become a person, so they can ask but never count (AUTHZ-18). Emails are
cached per account; the person is looked up in the policy in force each time, so a reload
takes effect at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

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
        self.team_id = team_id
        self._emails: dict[str, str | None] = {}

    async def actor(self, user_id: str, team_id: str | None = None) -> Actor:
        """The actor for a Slack account; `person` is None for anyone who may not count."""
        person = None
        if self.team_id is None or team_id in (None, self.team_id):
            policy = self.policy()
            person = person_by_platform_id(policy, "slack", user_id)
            if person is None:
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
