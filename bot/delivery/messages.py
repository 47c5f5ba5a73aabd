"""The outbox's messages as types, validated when a row is read, and the one row builder.

Imports pydantic and `workflows` only. A row's `message` holds one of these as JSON, told
apart by `kind`; addresses name policy people and channels, which the relay resolves to
platform accounts at delivery, so a reloaded policy is honoured by messages in flight.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from workflows.effects import Audience


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(_Message):
    """A policy person or channel, or the platform account a command came from."""

    kind: Literal["person", "channel", "user"]
    key: str


class CardMessage(_Message):
    """A request's card for `audience`, rendered from the request as it is at delivery."""

    kind: Literal["card"] = "card"
    audience: Audience
    to: Address


class TextMessage(_Message):
    kind: Literal["text"] = "text"
    text: str
    to: Address


class UpdateMessage(_Message):
    """Re-render one posted copy of a card (a `chat_messages` row) from current state."""

    kind: Literal["update"] = "update"
    chat_message_id: int


class OpenRoomTask(_Message):
    """Make an incident's room: the fields of the core's `OpenRoom`."""

    kind: Literal["room"] = "room"
    incident_id: str
    name: str
    private: bool
    topic: str
    first_message: str
    members: tuple[str, ...]
    owner: str | None
    informed: tuple[str, ...]
    announcement: str


class InviteTask(_Message):
    kind: Literal["invite"] = "invite"
    incident_id: str
    to: Address


class RoomLinkTask(_Message):
    """Tell an Informed channel about the room, with the platform's link to it."""

    kind: Literal["room-link"] = "room-link"
    incident_id: str
    to: Address
    text: str


class RoomTextTask(_Message):
    kind: Literal["room-text"] = "room-text"
    incident_id: str
    text: str


class CallbackMessage(_Message):
    """A request's event POSTed to the URL its client gave, signed when it is sent.

    The body is fixed when queued, so every attempt sends the same bytes under the same id.
    """

    kind: Literal["callback"] = "callback"
    client: str
    url: str
    event_id: str  # `webhook-id`: the ledger entry's seq
    body: str


class GitHubReview(_Message):
    """A verdict (or a comment alone) for a GitHub run waiting on an environment, POSTed
    to its callback with an installation token; fixed when queued, like a callback."""

    kind: Literal["github-review"] = "github-review"
    url: str
    installation_id: int
    environment: str
    state: Literal["approved", "rejected"] | None = None
    comment: str


# Composed with the claim, from the request's state; room tasks read the room as they go;
# outbound POSTs are built and signed by their kind's own preparer, sent by one HTTP sender.
Composable = CardMessage | TextMessage | UpdateMessage
RoomTask = OpenRoomTask | InviteTask | RoomLinkTask | RoomTextTask
Outbound = CallbackMessage | GitHubReview
Message = Composable | RoomTask | Outbound
OutboxMessage = Annotated[Message, Field(discriminator="kind")]

_READER: TypeAdapter[Message] = TypeAdapter(OutboxMessage)


def decode(raw: str) -> Message:
    """The message a row holds; a `ValueError` (pydantic's `ValidationError`) if it is none."""
    return _READER.validate_json(raw)


def encode(message: Message) -> str:
    return json.dumps(message.model_dump(mode="json"), sort_keys=True)


def outbox_row(
    platform: str,
    destination_key: str,
    message: Message,
    now: datetime,
    *,
    request_id: str | None = None,
    due: datetime | None = None,
) -> dict[str, Any]:
    """A new pending row; its subject is the request it is about or the incident whose room
    it needs, the column the relay looks rows up by."""
    subject = message.incident_id if isinstance(message, RoomTask) else request_id
    return {
        "platform": platform,
        "destination_key": destination_key,
        "request_id": request_id,
        "subject_id": subject,
        "message": encode(message),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": due or now,
        "created_at": now,
    }
