"""Where Teams conversations are: the protocol the shell implements over its database; pure.

Teams gives a bot no way to message someone it has never heard from without the service URL
of their region and, for a direct message, a conversation id. Every inbound activity and every
install event tells us both, so we keep them for the messages we start (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConversationRef:
    conversation_id: str
    service_url: str
    tenant_id: str
    kind: str  # personal, channel or groupChat, as Teams says
    user_id: str | None = None  # the Entra object id of the person, for a personal chat
    person: str | None = None  # the policy person that account maps to, when known


class Directory(Protocol):
    async def remember(self, ref: ConversationRef) -> None:
        """Record or refresh a conversation; cheap to call on every activity."""
        ...

    async def personal(self, user_id: str) -> ConversationRef | None:
        """The latest personal chat with this Entra object id."""
        ...

    async def user_of(self, person: str) -> str | None:
        """The Entra object id a policy person was last seen with."""
        ...

    async def service_url(self, tenant_id: str) -> str | None:
        """The service URL Teams last used for this tenant."""
        ...
