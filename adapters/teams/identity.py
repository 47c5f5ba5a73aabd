"""Maps a Teams account to a policy person; never imports `bot`.

The policy's `teams:` id (the Entra object id) decides first; otherwise the member's email or
user principal name, looked up once from the conversation's member list and cached. A member
Teams does not know, or an answer we cannot read, is not cached, so it is asked again next
time. When Teams or Entra ID cannot answer at all, the error goes up, so the activity is
answered 503 and redelivered rather than its sender taken for a stranger. Someone the policy
does not know becomes an actor with no person: they may ask, but never count.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
from microsoft_agents.activity import Activity

from adapters.teams.entra import TokenUnavailable
from workflows.inventory import person_by_email, person_by_platform_id
from workflows.model import Actor
from workflows.policy import Policy

log = logging.getLogger("signoff.teams")

# (service URL, conversation id, member id) -> email, or None when Teams did not say.
MemberEmail = Callable[[str, str, str], Awaitable[str | None]]


class TeamsIdentity:
    def __init__(self, policy: Callable[[], Policy], member_email: MemberEmail) -> None:
        self.policy = policy
        self.member_email = member_email
        self._emails: dict[str, str | None] = {}

    async def actor(self, activity: Activity) -> Actor:
        sender = activity.from_property
        account = (sender.aad_object_id or sender.id) if sender else ""
        person = None
        if account:
            policy = self.policy()
            person = person_by_platform_id(policy, "teams", account)
            if person is None:
                email = await self._email(activity, account)
                person = person_by_email(policy, email) if email else None
        return Actor(person=person, platform="teams", platform_user_id=account or "unknown")

    async def _email(self, activity: Activity, account: str) -> str | None:
        if account not in self._emails:
            sender = activity.from_property
            conversation = activity.conversation
            if not (sender and sender.id and conversation and activity.service_url):
                return None
            try:
                email = await self.member_email(activity.service_url, conversation.id, sender.id)
            except aiohttp.ClientResponseError as error:
                if error.status != 404:
                    raise
                log.info("Teams knows no member %s in this conversation", account)
                return None
            except (aiohttp.ClientError, TimeoutError, TokenUnavailable):
                raise
            except Exception as error:  # an answer we cannot read: unknown for now, not a crash
                log.warning("Teams member look-up for %s failed: %s", account, error)
                return None
            self._emails[account] = email
        return self._emails[account]
