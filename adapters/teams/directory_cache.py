"""Keeps what the conversation directory answered, until it writes; imports `directory` only.

Every post to a person or a channel asks the directory where to send it: the person's
personal chat, or the tenant's service URL. Those answers change only when an activity tells
us something new, and every such write in this process goes through `remember` here, which
forgets every answer kept. Nothing else is kept: a question the directory could not answer
(no chat, no service URL yet) is asked again next time. The answers are shared by the route,
which learns from inbound activities, and by the relay's port, which asks; each side keeps
its own `CachedDirectory` over its own directory, one `Answers` between them.

Another replica may learn a new service URL or chat; this process sees it at the latest
`fresh_for` seconds later, when an answer it keeps is asked again from the database.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from adapters.teams.directory import ConversationRef, Directory

FRESH_SECONDS = 10.0
T = TypeVar("T")


@dataclass
class Answers:
    """The answers kept, each with when it was read; `generation` counts forgettings."""

    clock: Callable[[], float] = time.monotonic
    fresh_for: float = FRESH_SECONDS
    generation: int = 0
    _kept: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict)

    def forget(self) -> None:
        self.generation += 1
        self._kept.clear()

    async def ask(self, key: tuple[str, str], read: Callable[[], Awaitable[T | None]]) -> T | None:
        kept = self._kept.get(key)
        now = self.clock()
        if kept is not None and now - kept[0] < self.fresh_for:
            found: T = kept[1]
            return found
        generation = self.generation
        answer = await read()
        # A write that began while we read may have made `answer` out of date: not kept.
        if answer is not None and generation == self.generation:
            self._kept[key] = (now, answer)
        return answer


class CachedDirectory:
    """`Directory` over another, its answers kept in `answers` until anything is written."""

    def __init__(self, inner: Directory, answers: Answers) -> None:
        self.inner = inner
        self.answers = answers
        # The last ref remembered for each conversation: the directory writes a conversation
        # only when its ref changed, so only a change can change an answer.
        self._remembered: dict[str, ConversationRef] = {}

    async def remember(self, ref: ConversationRef) -> None:
        if self._remembered.get(ref.conversation_id) == ref:
            await self.inner.remember(ref)
            return
        self.answers.forget()
        try:
            await self.inner.remember(ref)
        finally:
            self.answers.forget()
        self._remembered[ref.conversation_id] = ref

    async def personal(self, user_id: str) -> ConversationRef | None:
        return await self.answers.ask(("personal", user_id), lambda: self.inner.personal(user_id))

    async def user_of(self, person: str) -> str | None:
        return await self.answers.ask(("user", person), lambda: self.inner.user_of(person))

    async def service_url(self, tenant_id: str) -> str | None:
        return await self.answers.ask(
            ("service_url", tenant_id), lambda: self.inner.service_url(tenant_id)
        )
