"""`TeamsChat`: the `ChatPort` for Teams over the Agents SDK's connector client; no `bot` imports.

Posts go to a channel by its id, or to a person's personal chat: the one we know, else one
created with `create_conversation` in the tenant. Updates replace the card by activity id.
Failures become the relay's three kinds: 429 waits `Retry-After`; 412, 5xx and network errors
are retried with back-off; 401, 403 and 404 are dead-lettered (DUR-08). Nothing is retried
here, so the relay decides, and a post is never sent twice behind its back.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
from microsoft_agents.activity import (
    Activity,
    ChannelAccount,
    ConversationParameters,
)

from adapters.port import (
    DeliveryError,
    Destination,
    MessageRef,
    OutgoingMessage,
    PermanentFailure,
    RateLimited,
    RoomSpec,
    TemporaryFailure,
)
from adapters.teams.cards import adaptive_card, attachment
from adapters.teams.connector import Connector
from adapters.teams.directory import ConversationRef, Directory
from adapters.teams.entra import TokenUnavailable
from adapters.teams.graph import GraphClient
from adapters.teams.mris import UserMris, answerer_ids
from adapters.teams.review_card import review_card, shown_notice
from adapters.teams.reviews import completer_ids
from adapters.teams.rooms import TeamsRooms
from workflows.policy import Policy

TEMPORARY_STATUSES = frozenset({408, 412, 500, 502, 503, 504})


def _failure(error: aiohttp.ClientResponseError) -> DeliveryError:
    if error.status == 429:
        try:
            seconds = float(error.headers.get("Retry-After", "1") if error.headers else "1")
        except ValueError:
            seconds = 1.0
        return RateLimited(seconds, "Teams rate limit")
    if error.status in TEMPORARY_STATUSES:
        return TemporaryFailure(f"Teams answered {error.status}")
    return PermanentFailure(f"Teams refused with {error.status}")


@contextlib.asynccontextmanager
async def delivery() -> AsyncIterator[None]:
    """The connector's answers and network failures as the relay's kinds of failure."""
    try:
        yield
    except aiohttp.ClientResponseError as error:
        raise _failure(error) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise TemporaryFailure(f"Teams unreachable: {type(error).__name__}") from None
    except TokenUnavailable as error:
        raise TemporaryFailure(f"no token from Entra ID: {error}") from None


class TeamsChat:
    platform = "teams"

    def __init__(
        self,
        connector: Connector,
        directory: Directory,
        app_id: str,
        tenant_id: str,
        policy: Callable[[], Policy],
        graph: GraphClient,
        mris: UserMris,
    ) -> None:
        self.connector = connector
        self.mris = mris
        self.directory = directory
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.policy = policy
        self.rooms = TeamsRooms(
            graph,
            lambda: self.policy().incidents.teams_team_id,
            tenant_id,
            self.post,
            self._user,
        )

    def opens_rooms(self, policy: Policy) -> bool:
        # Channels are made in the policy's incident team; without one there are no rooms.
        return bool(policy.incidents.teams_team_id)

    async def open_room(self, spec: RoomSpec) -> MessageRef:
        async with delivery():
            return await self.rooms.open_room(spec)

    async def invite(self, room: MessageRef, to: Destination) -> None:
        async with delivery():
            await self.rooms.invite(room, to)

    async def post_in_room(self, room: MessageRef, text: str) -> None:
        async with delivery():
            await self.rooms.post_in_room(room, text)

    async def announce_room(self, to: Destination, text: str, room: MessageRef) -> MessageRef:
        async with delivery():
            return await self.rooms.announce_room(to, text, room)

    async def post(self, to: Destination, message: OutgoingMessage) -> MessageRef:
        async with delivery():
            service_url, conversation = await self._conversation_for(to)
            activity = await self._activity(
                message, service_url, conversation, to.kind != "channel"
            )
            client = await self.connector.at(service_url)
            sent = await client.conversations.send_to_conversation(conversation, activity)
        if not sent.id:
            raise TemporaryFailure("Teams accepted the message but returned no activity id")
        return {"service_url": service_url, "conversation": conversation, "activity": sent.id}

    async def update(self, ref: MessageRef, message: OutgoingMessage) -> None:
        activity = await self._activity(message, ref["service_url"], ref["conversation"])
        activity.id = ref["activity"]
        async with delivery():
            client = await self.connector.at(ref["service_url"])
            await client.conversations.update_activity(
                ref["conversation"], ref["activity"], activity
            )

    async def _activity(
        self, message: OutgoingMessage, service_url: str, conversation: str, personal: bool = True
    ) -> Activity:
        if message.review is not None:
            # A reminder, an escalation or a completion: the review's card says it, with the
            # form for a person's chat, read-only in a channel until refreshed by those who
            # may complete it.
            policy = self.policy()
            ids = completer_ids(message.review, policy)
            card = review_card(
                message.review,
                policy,
                form=personal,
                user_mris=await self.mris.find(ids, service_url, conversation),
                notice=message.text,
            )
            summary = shown_notice(message.text, personal)
            return Activity.model_validate(
                {"type": "message", "summary": summary, "attachments": [attachment(card)]}
            )
        if message.card is None:
            # Plain: a reason or a summary someone typed must not render as Markdown.
            return Activity(type="message", text=message.text, text_format="plain")
        ids = answerer_ids(message.card, self.policy())
        card = adaptive_card(message.card, await self.mris.find(ids, service_url, conversation))
        return Activity.model_validate(
            {"type": "message", "summary": message.text, "attachments": [attachment(card)]}
        )

    async def _conversation_for(self, to: Destination) -> tuple[str, str]:
        if to.kind == "channel":
            service_url = await self.directory.service_url(self.tenant_id)
            if to.platform_id is None or service_url is None:
                raise PermanentFailure(_unreachable(to, service_url))
            return service_url, to.platform_id
        user = await self._user(to)
        known = await self.directory.personal(user)
        if known is not None:
            return known.service_url, known.conversation_id
        service_url = await self.directory.service_url(self.tenant_id)
        if service_url is None:
            raise PermanentFailure(_unreachable(to, service_url))
        return service_url, await self._open_chat(service_url, user, to)

    async def _user(self, to: Destination) -> str:
        """The person's Entra object id: the policy's `teams:` id, or the one last seen."""
        user = to.platform_id or await self.directory.user_of(to.key)
        if user is None:
            raise PermanentFailure(
                f"{to.name or to.key} has no teams id in the policy and has not written to "
                "Signoff in Teams yet; add their Entra object id as `teams:` in the policy"
            )
        return user

    async def _open_chat(self, service_url: str, user: str, to: Destination) -> str:
        """A personal chat with someone we have never talked to; the app must be installed."""
        parameters = ConversationParameters(
            is_group=False,
            agent=ChannelAccount(id=f"28:{self.app_id}"),
            members=[ChannelAccount(id=user)],
            tenant_id=self.tenant_id,
            channel_data={"tenant": {"id": self.tenant_id}},
        )
        client = await self.connector.at(service_url)
        created = await client.conversations.create_conversation(parameters)
        await self.directory.remember(
            ConversationRef(created.id, service_url, self.tenant_id, "personal", user, to.key)
        )
        return str(created.id)


def _unreachable(to: Destination, service_url: str | None) -> str:
    if service_url is None:
        return (
            "no Teams activity has reached Signoff yet, so the tenant's service URL is unknown; "
            "install the Signoff app in Teams first"
        )
    return f"channel {to.key} has no teams id in the policy"
