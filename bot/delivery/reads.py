"""What a command's transaction would read more than once, read once: the machine that opened
each request and where each request's cards were posted. Imports storage only; never services.

A decision asks both questions twice (is the clicked card one of the request's, and which
cards to update; does a GitHub run wait on it, and does a client want a callback); neither
answer changes within the transaction, so the second asking is answered from memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.api_clients import callback_bodies
from bot.storage.tables import chat_messages, outbox

# Built once; the outbox row gives the destination a card's updates queue behind.
_POSTED = (
    select(
        chat_messages.c.id,
        chat_messages.c.request_id,
        chat_messages.c.platform,
        chat_messages.c.ref,
        outbox.c.destination_key,
    )
    .select_from(chat_messages.outerjoin(outbox, outbox.c.id == chat_messages.c.outbox_id))
    .where(chat_messages.c.request_id.in_(bindparam("ids", expanding=True)))
    .order_by(chat_messages.c.id)
)


class PostedCard(NamedTuple):
    """A posted copy of a request's card; `ref` is the platform's location of it, as JSON."""

    id: int
    request_id: str
    platform: str
    ref: str
    destination_key: str | None


class TransactionReads:
    """The answers of one transaction's connection, by request id."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._opened: dict[str, tuple[str, str] | None] = {}
        self._cards: dict[str, list[PostedCard]] = {}

    async def opened_by(self, request_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """(client, body) of each request an API client (or the GitHub gate, client
        `@github`) opened; requests opened by people are absent."""
        wanted = set(request_ids)
        if unread := sorted(wanted - self._opened.keys()):
            found = await callback_bodies(self.conn, unread)
            self._opened.update({rid: found.get(rid) for rid in unread})
        return {rid: opened for rid in wanted if (opened := self._opened[rid]) is not None}

    async def posted_cards(self, request_ids: Iterable[str]) -> dict[str, list[PostedCard]]:
        """Every posted copy of these requests' cards, by request, in posting order."""
        wanted = set(request_ids)
        if unread := sorted(wanted - self._cards.keys()):
            self._cards.update({rid: [] for rid in unread})
            for row in await self.conn.execute(_POSTED, {"ids": unread}):
                self._cards[row.request_id].append(PostedCard(*row))
        return {rid: self._cards[rid] for rid in wanted}
