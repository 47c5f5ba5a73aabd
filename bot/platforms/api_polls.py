"""API v1's long-polls: one read of a request per change, shared by every call waiting on it.

A read is made at a generation of the request's watch (`api_watch.py`) and answers every poll
of that request until the generation moves (the request changed, or the watch stopped hearing
changes) or FRESH_SECONDS pass, whichever is first; calls that need a read while one is under
way for the same generation wait for that one instead of making their own. The view is made
from the read at the moment of answering, since `waiting_for` depends on the time. A waiter
holds a future in the watch and its own coroutine, nothing else. Imports asyncio, the API's
models and the watch; reads through the callable it is given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.api.routes import Client, etag
from adapters.api.schema import RequestView
from bot.platforms.api_watch import RequestWatch, Watched
from bot.services.api_reads import RequestRead

# How long one read answers polls when the watch hears no change. The watch hears every
# change to the request's row; what it does not hear is a ledger entry about the request that
# leaves the row as it was (a refused vote, a card that could not be delivered) and, on
# SQLite, a change made by another process. A poll's answer shows those this much late at
# most; a poll without `wait` always reads.
FRESH_SECONDS = 10.0

Reader = Callable[[Client, str], Awaitable[RequestRead]]
Viewer = Callable[[RequestRead], RequestView]


@dataclass(frozen=True)
class _Memo:
    """A read, with whose it is and the generation and moment it was made at."""

    client: str
    generation: int
    at: float
    read: RequestRead


@dataclass(frozen=True)
class _Flight:
    """A read under way, for the calls that need one for the same generation."""

    client: str
    generation: int
    task: asyncio.Task[RequestRead]


class Polls:
    """Long-polls over `watch`; `reader` reads a request (raising `ApiProblem` when it is not
    the client's), `viewer` makes its view now."""

    def __init__(self, watch: RequestWatch, reader: Reader, viewer: Viewer) -> None:
        self.watch, self.reader, self.viewer = watch, reader, viewer

    async def wait(
        self, client: Client, request_id: str, seen: str | None, seconds: float
    ) -> RequestView:
        """The request's view once it differs from the one tagged `seen` (the current one when
        None), once it is no longer pending, or when `seconds` have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        with self.watch.watching(request_id) as watched:
            while True:
                # Registered before the read, so a change made after it wakes this call.
                changed = watched.next_change()
                try:
                    view = await self._view(client, request_id, watched)
                    tag = etag(view)
                    seen = seen or tag
                    if view.status != "pending" or tag != seen:
                        return view
                    del view  # not held while waiting: the read is shared, the view is not
                    try:
                        async with asyncio.timeout_at(deadline):
                            await changed
                    except TimeoutError:
                        return await self._view(client, request_id, watched)
                finally:
                    watched.waiters.discard(changed)

    async def _view(self, client: Client, request_id: str, watched: Watched) -> RequestView:
        return self.viewer(await self._read(client, request_id, watched))

    async def _read(self, client: Client, request_id: str, watched: Watched) -> RequestRead:
        loop = asyncio.get_running_loop()
        memo = watched.memo
        if (
            isinstance(memo, _Memo)
            and memo.client == client.name
            and self.watch.current(watched, memo.generation)
            and loop.time() - memo.at < FRESH_SECONDS
        ):
            return memo.read
        flight = watched.flight
        if not (
            isinstance(flight, _Flight)
            and flight.client == client.name
            and flight.generation == watched.generation
            and not flight.task.done()
        ):
            task = loop.create_task(self._fetch(client, request_id, watched))
            task.add_done_callback(_retrieved)
            flight = watched.flight = _Flight(client.name, watched.generation, task)
        # Shielded: a caller that leaves does not cancel the read the others wait for.
        return await asyncio.shield(flight.task)

    async def _fetch(self, client: Client, request_id: str, watched: Watched) -> RequestRead:
        ready = await self.watch.ready(watched)
        generation, at = watched.generation, asyncio.get_running_loop().time()
        read = await self.reader(client, request_id)
        if ready and self.watch.current(watched, generation):
            watched.memo = _Memo(client.name, generation, at, read)
        return read


def _retrieved(task: asyncio.Task[RequestRead]) -> None:
    """The callers saw the failure (or all left); it is not an unretrieved exception."""
    if not task.cancelled():
        task.exception()
