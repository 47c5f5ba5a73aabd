"""The directory's answers are kept until something is written, over the real database.

Each post asks where to send it; a click's posts must not each read `teams_conversations`
again. Counted as the statements that reach the database, never timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.directory import ConversationRef
from adapters.teams.directory_cache import Answers, CachedDirectory
from bot.storage.conversations import DatabaseDirectory
from tests.clock import Clock
from tests.teams_standin import TENANT
from tests.teams_world import TeamsWorld

EAST = "https://smba.trafficmanager.net/amer/"
WEST = "https://smba.trafficmanager.net/emea/"


def chat(conversation: str, service_url: str = EAST, user: str = "u-mina") -> ConversationRef:
    return ConversationRef(conversation, service_url, TENANT, "personal", user, "mina")


@contextmanager
def reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SELECTs on `teams_conversations` while the block runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "teams_conversations" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def directories(engine: AsyncEngine, answers: Answers) -> tuple[CachedDirectory, CachedDirectory]:
    """The route's and the port's, as `bot.platforms.teams` makes them: one `Answers`."""
    clock = Clock()
    route = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    port = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    return route, port


async def test_a_second_post_reads_nothing(engine: AsyncEngine) -> None:
    route, port = directories(engine, Answers())
    await route.remember(chat("a:mina"))
    with reads(engine) as seen:
        for _ in range(3):
            assert await port.personal("u-mina") == chat("a:mina")
            assert await port.service_url(TENANT) == EAST
            assert await port.user_of("mina") == "u-mina"
    assert len(seen) == 3  # one of each, not nine


async def test_an_unchanged_conversation_keeps_the_answers(engine: AsyncEngine) -> None:
    route, port = directories(engine, Answers())
    await route.remember(chat("a:mina"))
    assert await port.service_url(TENANT) == EAST
    with reads(engine) as seen:
        for _ in range(3):  # every click of Mina's names her chat again
            await route.remember(chat("a:mina"))
            assert await port.service_url(TENANT) == EAST
    assert seen == []


async def test_a_changed_conversation_is_read_again(engine: AsyncEngine) -> None:
    clock = Clock()
    answers = Answers()
    route = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    port = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    await route.remember(chat("a:mina"))
    assert await port.service_url(TENANT) == EAST
    assert await port.personal("u-mina") == chat("a:mina")
    clock.advance(seconds=1)
    await route.remember(chat("a:mina", WEST))  # Teams moved her chat to another region
    assert await port.service_url(TENANT) == WEST
    assert await port.personal("u-mina") == chat("a:mina", WEST)


async def test_what_the_port_writes_is_read_by_it(engine: AsyncEngine) -> None:
    clock = Clock()
    answers = Answers()
    route = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    port = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    await route.remember(ConversationRef("19:general", EAST, TENANT, "channel"))
    assert await port.personal("u-mina") is None
    clock.advance(seconds=1)
    await port.remember(chat("a:new-chat"))  # the chat the port opened for her
    assert await port.personal("u-mina") == chat("a:new-chat")


async def test_no_answer_is_asked_again(engine: AsyncEngine) -> None:
    _, port = directories(engine, Answers())
    with reads(engine) as seen:
        assert await port.service_url(TENANT) is None
        assert await port.service_url(TENANT) is None
    assert len(seen) == 2


async def test_answers_go_stale_for_what_other_replicas_learn(engine: AsyncEngine) -> None:
    ticks = Ticks()
    route, port = directories(engine, Answers(clock=ticks, fresh_for=10))
    await route.remember(chat("a:mina"))
    assert await port.service_url(TENANT) == EAST
    later = Clock()
    later.advance(seconds=5)
    elsewhere = DatabaseDirectory(engine, later)
    await elsewhere.remember(chat("a:mina-too", WEST, user="u-other"))  # another replica
    ticks.now = 9.0
    assert await port.service_url(TENANT) == EAST
    ticks.now = 10.0
    assert await port.service_url(TENANT) == WEST


async def test_an_answer_read_across_a_write_is_not_kept(engine: AsyncEngine) -> None:
    clock = Clock()
    answers = Answers()
    route = CachedDirectory(DatabaseDirectory(engine, clock), answers)
    await route.remember(chat("a:mina"))
    reading = asyncio.Event()
    go_on = asyncio.Event()

    class Slow(DatabaseDirectory):
        async def service_url(self, tenant_id: str) -> str | None:
            found = await super().service_url(tenant_id)
            reading.set()
            await go_on.wait()
            return found

    port = CachedDirectory(Slow(engine, clock), answers)
    asking = asyncio.create_task(port.service_url(TENANT))
    await reading.wait()
    clock.advance(seconds=1)
    await route.remember(chat("a:mina", WEST))
    go_on.set()
    assert await asking == EAST  # read before the write
    assert await port.service_url(TENANT) == WEST  # not kept


async def test_the_route_and_the_relay_share_the_answers(teams: TeamsWorld) -> None:
    """Once every chat is known, a request's posts to five chats and a channel read none."""
    for version in ("2.3.1", "2.3.2"):
        await teams.say("soo", f"deploy credit-scoring {version} to prod -- retrain")
        await teams.h.settle()
    posts = len(teams.connector.posts())
    with reads(teams.h.runtime().engine) as seen:
        await teams.say("soo", "deploy credit-scoring 2.3.3 to prod -- retrain")
        await teams.h.settle()
    assert len(teams.connector.posts()) - posts >= 6
    assert seen == []
