"""The Teams conversation directory over our database; imports only the adapter's protocol.

Every inbound activity names its conversation; a row is written only when something about it
changed, so a stream of clicks does not become a stream of writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.directory import ConversationRef
from bot.storage.tables import teams_conversations as table


class DatabaseDirectory:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self._written: dict[str, ConversationRef] = {}

    async def remember(self, ref: ConversationRef) -> None:
        if not (ref.conversation_id and ref.service_url and ref.tenant_id):
            return
        if self._written.get(ref.conversation_id) == ref:
            return
        values = {
            "service_url": ref.service_url,
            "tenant_id": ref.tenant_id,
            "kind": ref.kind,
            "user_id": ref.user_id,
            "person": ref.person,
            "updated_at": self.clock(),
        }
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        upsert = dialect.insert(table).values(conversation_id=ref.conversation_id, **values)
        upsert = upsert.on_conflict_do_update(index_elements=[table.c.conversation_id], set_=values)
        async with self.engine.begin() as conn:
            await conn.execute(upsert)
        self._written[ref.conversation_id] = ref

    async def personal(self, user_id: str) -> ConversationRef | None:
        query = (
            select(table)
            .where(table.c.kind == "personal", table.c.user_id == user_id)
            .order_by(table.c.updated_at.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return ConversationRef(
            row.conversation_id,
            row.service_url,
            row.tenant_id,
            row.kind,
            row.user_id,
            row.person,
        )

    async def user_of(self, person: str) -> str | None:
        query = (
            select(table.c.user_id)
            .where(table.c.person == person, table.c.user_id.is_not(None))
            .order_by(table.c.updated_at.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            found = await conn.scalar(query)
        return str(found) if found else None

    async def service_url(self, tenant_id: str) -> str | None:
        query = (
            select(table.c.service_url)
            .where(table.c.tenant_id == tenant_id)
            .order_by(table.c.updated_at.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            found = await conn.scalar(query)
        return str(found) if found else None
