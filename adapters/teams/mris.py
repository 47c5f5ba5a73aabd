"""People's Teams user MRIs, for the `refresh.userIds` of a card; never imports `bot`.

Microsoft documents `userIds` as user MRIs: the `29:...` id a person's activities come from,
not the Entra object id the policy names. Every activity teaches us its sender's; for someone
who has not written yet, the Bot Connector's member look-up by object id answers with it.
Both are kept for the life of the process. A look-up that fails leaves the person off the
list (they can still refresh the card by hand), never the card undelivered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp
from microsoft_agents.activity import Activity

from adapters.teams.connector import Connector
from adapters.teams.entra import TokenUnavailable
from workflows.cards import CardView
from workflows.policy import Policy

log = logging.getLogger("signoff.teams")

MAX_REFRESH_USERS = 60  # Teams refreshes at most 60 named people automatically
MRI_PREFIX = "29:"


def answerer_ids(card: CardView, policy: Policy) -> dict[str, str]:
    """The Teams ids the policy gives the people who may answer `card`, at most sixty."""
    people = policy.people
    named = [p for p in card.answerers if p in people and people[p].teams]
    return {p: str(people[p].teams) for p in named[:MAX_REFRESH_USERS]}


class UserMris:
    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self._mris: dict[str, str] = {}  # Entra object id -> MRI
        self._absent: set[tuple[str, str]] = set()  # (conversation, object id) Teams denied

    def learn(self, activity: Activity) -> None:
        """Remember the sender's MRI; cheap enough for every activity."""
        sender = activity.from_property
        if sender and sender.aad_object_id and (sender.id or "").startswith(MRI_PREFIX):
            self._mris[sender.aad_object_id] = sender.id

    def known(self, ids: Mapping[str, str]) -> dict[str, str]:
        """Person -> MRI, for those of `ids` (person -> policy Teams id) whose MRI we have."""
        found = {}
        for person, teams_id in ids.items():
            mri = teams_id if teams_id.startswith(MRI_PREFIX) else self._mris.get(teams_id)
            if mri:
                found[person] = mri
        return found

    async def find(
        self, ids: Mapping[str, str], service_url: str, conversation: str
    ) -> dict[str, str]:
        """As `known`, after asking the conversation's roster for the ones we do not have."""
        for teams_id in ids.values():
            if teams_id.startswith(MRI_PREFIX) or teams_id in self._mris:
                continue
            if (conversation, teams_id) not in self._absent:
                await self._look_up(teams_id, service_url, conversation)
        return self.known(ids)

    async def _look_up(self, object_id: str, service_url: str, conversation: str) -> None:
        try:
            client = await self.connector.at(service_url)
            member = await client.conversations.get_conversation_member(conversation, object_id)
        except aiohttp.ClientResponseError as error:
            if error.status == 404:
                self._absent.add((conversation, object_id))
            log.info("no Teams MRI for %s in %s (%s)", object_id, conversation, error.status)
            return
        except (aiohttp.ClientError, TimeoutError, TokenUnavailable, ValueError) as error:
            log.info("no Teams MRI for %s now: %s", object_id, error)
            return
        if member.id:
            self._mris[object_id] = member.id
