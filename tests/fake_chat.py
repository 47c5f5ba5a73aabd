"""`FakeChat`: an in-memory `ChatPort` that records calls and fails on request, and
`FakeRoomChat`, one that makes incident rooms too; tests use them.

Imports `workflows` and `adapters.port` only.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from adapters.port import (
    DeliveryError,
    Destination,
    Kind,
    MessageRef,
    OutgoingMessage,
    RoomSpec,
)
from workflows.policy import Policy


@dataclass
class Delivered:
    kind: Kind
    destination: str
    message: OutgoingMessage
    ref: MessageRef


@dataclass
class FakeChat:
    """Records every post and update; `fail(...)` queues errors for a destination."""

    platform: str = "fake"
    calls: list[Delivered] = field(default_factory=list)
    attempts: list[tuple[Kind, str]] = field(default_factory=list)
    _failures: dict[str, deque[DeliveryError]] = field(default_factory=dict)
    _always: dict[str, DeliveryError] = field(default_factory=dict)
    _counter: int = 0

    def fail(self, destination: str, *errors: DeliveryError) -> None:
        """The next calls to `destination` raise these errors, in order."""
        self._failures.setdefault(destination, deque()).extend(errors)

    def fail_always(self, destination: str, error: DeliveryError) -> None:
        self._always[destination] = error

    def _maybe_fail(self, kind: Kind, destination: str) -> None:
        self.attempts.append((kind, destination))
        if destination in self._always:
            raise self._always[destination]
        queued = self._failures.get(destination)
        if queued:
            raise queued.popleft()

    async def post(self, to: Destination, message: OutgoingMessage) -> MessageRef:
        destination = to.platform_id or to.key
        self._maybe_fail("post", destination)
        self._counter += 1
        ref = {"destination": destination, "ts": str(self._counter)}
        self.calls.append(Delivered("post", destination, message, ref))
        return ref

    async def update(self, ref: MessageRef, message: OutgoingMessage) -> None:
        self._maybe_fail("update", ref["destination"])
        self.calls.append(Delivered("update", ref["destination"], message, dict(ref)))

    def posts_to(self, destination: str) -> list[Delivered]:
        return [c for c in self.calls if c.kind == "post" and c.destination == destination]

    def latest_card(self, destination: str) -> OutgoingMessage | None:
        """The last version of the card shown at `destination` (post or update)."""
        shown = [c.message for c in self.calls if c.destination == destination and c.message.card]
        return shown[-1] if shown else None


@dataclass
class FakeRoomChat(FakeChat):
    """A `FakeChat` that is also a `RoomPort`: rooms by name, their members and their posts."""

    rooms: dict[str, RoomSpec] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    said_in: dict[str, list[str]] = field(default_factory=dict)

    def opens_rooms(self, policy: Policy) -> bool:
        return True

    async def open_room(self, spec: RoomSpec) -> MessageRef:
        self._maybe_fail("post", spec.name)
        self.rooms[spec.name] = spec
        return {"room": spec.name}

    async def invite(self, room: MessageRef, to: Destination) -> None:
        self.members.setdefault(room["room"], []).append(to.platform_id or to.key)

    async def post_in_room(self, room: MessageRef, text: str) -> None:
        self.said_in.setdefault(room["room"], []).append(text)

    async def announce_room(self, to: Destination, text: str, room: MessageRef) -> MessageRef:
        return await self.post(to, OutgoingMessage(text=f"{text} #{room['room']}"))
