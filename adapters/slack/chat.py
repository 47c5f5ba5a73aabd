"""`SlackChat`: the `ChatPort` for Slack over slack-sdk's `AsyncWebClient`; never imports `bot`.

It finds a person's Slack account (policy hint, else `users.lookupByEmail`), opens the DM,
posts and updates, and turns Slack's answers into the relay's three kinds of failure.
It retries nothing itself: the outbox relay owns retries, so a post is never sent twice by a
hidden retry after Slack already accepted it (DUR-09).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

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
from adapters.slack.blocks import FALLBACK_LIMIT, clip, escape, message_payload
from workflows.policy import Policy

# Slack's longest channel topic and purpose.
TOPIC_LIMIT = 250
# Slack errors (HTTP 200, ok=false) worth trying again; every other error is permanent.
TEMPORARY_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
)


class _SdkLog(logging.LoggerAdapter[logging.Logger]):
    """slack-sdk's own logger, but with the level in effect as its `level`.

    The SDK formats every request and answer for a debug line whenever `logger.level` is at
    most DEBUG, and an unset level is 0: without this it built them on every call.
    """

    @property
    def level(self) -> int:
        return self.logger.getEffectiveLevel()


def _sdk_log() -> Any:
    return cast(Any, _SdkLog(logging.getLogger("slack_sdk.web.async_base_client")))


def make_client(
    token: str, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The client for messages: no retries of its own, since the outbox relay owns them.

    Give it a `session` that lives as long as the process: without one the SDK opens a new
    session, and a new connection with its TLS handshake, for every call.
    """
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, retry_handlers=[], logger=_sdk_log()
    )


def lookup_client(client: AsyncWebClient) -> AsyncWebClient:
    """A client for read-only look-ups (`users.info`), which are safe to retry after a 429."""
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        session=client.session,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
        logger=_sdk_log(),
    )


def _failure(error: SlackApiError) -> DeliveryError:
    response = error.response
    status = response.status_code
    code = str(response.get("error", "")) if isinstance(response.data, dict) else ""
    if status == 429 or code == "ratelimited":
        retry_after = response.headers.get("Retry-After", response.headers.get("retry-after", "1"))
        try:
            seconds = float(retry_after)
        except (TypeError, ValueError):
            seconds = 1.0
        return RateLimited(seconds, f"Slack rate limit on {response.api_url.rsplit('/', 1)[-1]}")
    if status >= 500 or code in TEMPORARY_ERRORS:
        return TemporaryFailure(f"Slack answered {status} {code}".strip())
    return PermanentFailure(f"Slack refused: {code or status}")


@contextlib.asynccontextmanager
async def _delivery() -> AsyncIterator[None]:
    """Slack's answers and network failures as the relay's three kinds of failure."""
    try:
        yield
    except SlackApiError as error:
        raise _failure(error) from None
    except (TimeoutError, aiohttp.ClientError) as error:
        raise TemporaryFailure(f"Slack unreachable: {type(error).__name__}") from None


class SlackChat:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._users_by_email: dict[str, str] = {}
        self._dm_by_user: dict[str, str] = {}

    async def post(self, to: Destination, message: OutgoingMessage) -> MessageRef:
        async with _delivery():
            channel = await self._channel_for(to)
            response = await self.client.chat_postMessage(
                channel=channel, **message_payload(message.text, message.card)
            )
        return {"channel": str(response["channel"]), "ts": str(response["ts"])}

    async def update(self, ref: MessageRef, message: OutgoingMessage) -> None:
        async with _delivery():
            await self.client.chat_update(
                channel=ref["channel"], ts=ref["ts"], **message_payload(message.text, message.card)
            )

    def opens_rooms(self, policy: Policy) -> bool:
        return True  # the bot makes its channels itself

    async def open_room(self, spec: RoomSpec) -> MessageRef:
        async with _delivery():
            channel = await self._create_or_adopt(spec)
            # The topic holds the reporter's summary, and Slack parses a topic as it does a
            # message: escaped, a typed `<!channel>` or link stays text.
            topic = clip(escape(spec.topic), TOPIC_LIMIT)
            await self.client.conversations_setTopic(channel=channel, topic=topic)
            await self.client.conversations_setPurpose(channel=channel, purpose=topic)
            posted = await self.client.chat_postMessage(
                channel=channel, text=clip(escape(spec.first_message), FALLBACK_LIMIT)
            )
            await self.client.pins_add(channel=channel, timestamp=str(posted["ts"]))
        return {"channel": channel}

    async def invite(self, room: MessageRef, to: Destination) -> None:
        async with _delivery():
            user = to.platform_id or await self._user_by_email(to)
            try:
                await self.client.conversations_invite(channel=room["channel"], users=user)
            except SlackApiError as error:
                if error.response.get("error") != "already_in_channel":
                    raise

    async def post_in_room(self, room: MessageRef, text: str) -> None:
        async with _delivery():
            await self.client.chat_postMessage(
                channel=room["channel"], text=clip(escape(text), FALLBACK_LIMIT)
            )

    async def announce_room(self, to: Destination, text: str, room: MessageRef) -> MessageRef:
        link = f"\nJoin: <#{room['channel']}>"
        async with _delivery():
            channel = await self._channel_for(to)
            posted = await self.client.chat_postMessage(
                channel=channel, text=clip(escape(text), FALLBACK_LIMIT - len(link)) + link
            )
        return {"channel": str(posted["channel"]), "ts": str(posted["ts"])}

    async def _create_or_adopt(self, spec: RoomSpec) -> str:
        """The channel named `spec.name`: made now, or found when it exists (a retry, a race)."""
        try:
            made = await self.client.conversations_create(name=spec.name, is_private=spec.private)
            return str(made["channel"]["id"])
        except SlackApiError as error:
            if error.response.get("error") != "name_taken":
                raise
        cursor = None
        while True:
            page = await self.client.conversations_list(
                types="public_channel,private_channel", limit=1000, cursor=cursor
            )
            for channel in page["channels"]:
                if channel.get("name") == spec.name:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise PermanentFailure(
                    f"a channel named {spec.name} exists but Signoff cannot see it; invite "
                    "the Signoff app to it"
                )

    async def _channel_for(self, to: Destination) -> str:
        if to.kind == "channel":
            if to.platform_id is None:
                raise PermanentFailure(f"channel {to.key} has no Slack id")
            return to.platform_id
        user = to.platform_id or await self._user_by_email(to)
        if user not in self._dm_by_user:
            opened = await self.client.conversations_open(users=user)
            self._dm_by_user[user] = str(opened["channel"]["id"])
        return self._dm_by_user[user]

    async def _user_by_email(self, to: Destination) -> str:
        if not to.email:
            raise PermanentFailure(f"{to.key} has neither a Slack id nor an email")
        email = to.email.lower()
        if email not in self._users_by_email:
            found = await self.client.users_lookupByEmail(email=email)
            self._users_by_email[email] = str(found["user"]["id"])
        return self._users_by_email[email]
