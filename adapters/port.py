"""The `ChatPort` protocol every platform implements, and the delivery errors it raises.

Imports `workflows` only; never `bot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from workflows.cards import CardView
from workflows.policy import Policy
from workflows.reviews import RiskReview

MessageRef = dict[str, str]


@dataclass(frozen=True)
class Destination:
    """Where a message goes: a person, a channel, or a platform account we were spoken to from.

    `platform_id` is the platform's own id when known (a policy hint, the channel id, the
    actor's account); otherwise the adapter finds the person by `email`.
    """

    kind: Literal["person", "channel", "user"]
    key: str
    platform_id: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """Plain text, and for cards the view to render; `text` is the notification fallback.

    `review` is the risk review a notice is about, as it is now: a platform whose cards can
    complete it (Teams) renders the notice as that card; the others send the text.
    """

    text: str
    card: CardView | None = None
    review: RiskReview | None = None


class DeliveryError(Exception):
    """A platform call that did not deliver."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail}; retry after {retry_after:g} s")
        self.retry_after = retry_after


class TemporaryFailure(DeliveryError):
    """Worth retrying later: 5xx, timeouts, connection resets."""


class PermanentFailure(DeliveryError):
    """Retrying cannot help: unknown channel, revoked token, forbidden."""


class ChatPort(Protocol):
    """One chat platform, as the outbox relay sees it."""

    platform: str

    async def post(self, to: Destination, message: OutgoingMessage) -> MessageRef:
        """Send a new message and return where it landed."""
        ...

    async def update(self, ref: MessageRef, message: OutgoingMessage) -> None:
        """Replace a message we sent earlier; must be safe to repeat."""
        ...


@dataclass(frozen=True)
class RoomSpec:
    """An incident's room: made once by name, with its topic and a pinned first message."""

    name: str
    private: bool
    topic: str
    first_message: str
    owner: Destination | None = None  # for platforms that make a private room with an owner


@runtime_checkable
class RoomPort(Protocol):
    """A platform that can make incident rooms (Slack channels, Teams channels)."""

    def opens_rooms(self, policy: Policy) -> bool:
        """Whether rooms can be made under `policy` (Teams needs the policy's incident team)."""
        ...

    async def open_room(self, spec: RoomSpec) -> MessageRef:
        """Make the room, or adopt the one of that name; set its topic; pin the first message."""
        ...

    async def invite(self, room: MessageRef, to: Destination) -> None:
        """Add one person to the room; must be safe to repeat."""
        ...

    async def post_in_room(self, room: MessageRef, text: str) -> None: ...

    async def announce_room(self, to: Destination, text: str, room: MessageRef) -> MessageRef:
        """Post `text` (plain, escaped) and a link to the room (the platform's own markup)."""
        ...


Kind = Literal["post", "update"]

# (HTTP status, which check failed): how an endpoint reports a request it refused, so
# operators see refusals rise in the metrics, not just in log lines.
RefusalCounter = Callable[[int, str], None]


class ServiceUnavailable(Exception):
    """The database could not be reached; nothing was recorded, the caller may retry."""
