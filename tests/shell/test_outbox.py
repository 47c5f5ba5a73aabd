"""The outbox relay under platform faults: DUR-05, 06, 07 and 15."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import PermanentFailure, RateLimited, TemporaryFailure
from bot.storage.tables import approval_requests, outbox
from tests.harness import Harness
from tests.serve_process import until
from workflows.model import Status


async def _last_error(h: Harness, destination_key: str) -> str | None:
    async with h.engine.connect() as conn:
        return await conn.scalar(
            select(outbox.c.last_error)
            .where(outbox.c.destination_key == destination_key, outbox.c.last_error.is_not(None))
            .order_by(outbox.c.id.desc())
        )


async def test_dur_05_a_429_holds_back_only_that_destination(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.chat.fail("U0MINA", RateLimited(7))
    await h.open("soo", system="doc-search")
    first = await h.relay.drain()
    assert first.retried == 1 and first.sent == 2  # jae and lee are not held back
    assert h.chat.attempts.count(("post", "U0MINA")) == 1
    # Before Retry-After has passed, nothing is sent to mina: no retry storm.
    h.clock.advance(seconds=6.9)
    assert (await h.relay.drain()).handled == 0
    assert h.chat.attempts.count(("post", "U0MINA")) == 1
    h.clock.advance(seconds=0.2)
    assert (await h.relay.drain()).sent == 1
    assert len(h.chat.posts_to("U0MINA")) == 1
    assert await h.outbox_count("pending") == 0


async def test_the_running_relay_wakes_when_a_held_row_falls_due(engine: AsyncEngine) -> None:
    """Nothing wakes it (no new commit); it sleeps until Retry-After, not its idle 30 s."""
    h = Harness(engine)
    h.chat.fail("U0MINA", RateLimited(1))
    stop = asyncio.Event()
    relay = asyncio.create_task(h.relay.run_forever(stop, idle=30))
    try:
        await h.open("soo", system="doc-search")
        await until(lambda: ("post", "U0MINA") in h.chat.attempts, "a first try", [])
        h.clock.advance(seconds=1)  # the relay's clock: Retry-After has passed
        await until(lambda: bool(h.chat.posts_to("U0MINA")), "the post, within 10 s", [])
    finally:
        stop.set()
        await relay
    assert h.chat.attempts.count(("post", "U0MINA")) == 2


POISON = '{"kind": "update"}'  # an update that names no card


async def test_a_row_that_cannot_be_composed_holds_up_only_itself(engine: AsyncEngine) -> None:
    """A request whose stored state no longer parses, an update naming no card: each row
    backs off on its own; the page they were claimed with is delivered."""
    h = Harness(engine)
    healthy = await h.open("soo", system="doc-search")
    broken = await h.open("soo", system="support-bot")
    async with h.engine.begin() as conn:
        await conn.execute(
            update(approval_requests)
            .where(approval_requests.c.id == broken)
            .values(state='{"edited": "by hand"}')
        )
        await conn.execute(
            insert(outbox).values(
                platform="slack",
                destination_key="slack:person:lee#card-999",
                request_id=healthy,
                message=POISON,
                status="pending",
                attempts=0,
                next_attempt_at=h.clock(),
                created_at=h.clock(),
            )
        )
    report = await h.relay.drain()
    async with h.engine.connect() as conn:
        rows = (await conn.execute(select(outbox))).all()
    cards = [r for r in rows if r.message != POISON]
    by_request = {
        rid: {(r.status, r.attempts) for r in cards if r.request_id == rid}
        for rid in (healthy, broken)
    }
    assert by_request[healthy] == {("sent", 1)}  # every card of the healthy request went out
    assert by_request[broken] == {("pending", 1)}  # each broken card waits to be tried again
    poison = next(r for r in rows if r.message == POISON)
    assert (poison.status, poison.attempts) == ("pending", 1)
    assert poison.last_error.startswith("ValidationError")
    assert all("ValidationError" in (r.last_error or "") for r in rows if r.request_id == broken)
    assert report.sent == len([r for r in rows if r.status == "sent"])


async def test_dur_05_rows_behind_a_held_row_keep_their_order(engine: AsyncEngine) -> None:
    h = Harness(engine)
    rid = await h.open("soo", system="doc-search")
    h.chat.fail("U0MINA", RateLimited(5))
    await h.relay.drain()
    await h.answer(rid, "jae")  # queues an update to mina's card behind her unsent post
    await h.relay.drain()
    assert h.chat.posts_to("U0MINA") == []
    h.clock.advance(seconds=5)
    await h.relay.drain()
    mina = [c.kind for c in h.chat.calls if c.destination == "U0MINA"]
    assert mina == ["post"]  # the card was rendered from the decided state when posted
    card = h.chat.latest_card("U0MINA")
    assert card is not None and card.card is not None and card.card.status is Status.APPROVED


async def test_dur_06_503s_back_off_then_deliver(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.chat.fail("U0MINA", *(TemporaryFailure("503 service unavailable") for _ in range(3)))
    await h.open("soo", system="doc-search")
    delays = []
    for _ in range(3):
        await h.relay.drain()
        async with engine.connect() as conn:
            due = await conn.scalar(
                select(outbox.c.next_attempt_at).where(outbox.c.status == "pending")
            )
        assert due is not None
        delays.append(due - h.clock.now)
        h.clock.now = due
    assert delays == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert (await h.relay.drain()).sent == 1
    assert len(h.chat.posts_to("U0MINA")) == 1
    retried = h.metrics.retried.labels(platform="slack", reason="temporary")._value.get()
    assert retried == 3


async def test_dur_07_a_permanent_error_is_dead_lettered_and_the_decision_stands(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    h.chat.fail("U0MINA", PermanentFailure("channel_not_found"))
    rid = await h.open("soo", system="doc-search")
    report = await h.relay.drain()
    assert report.dead == 1
    assert h.chat.attempts.count(("post", "U0MINA")) == 1  # never retried
    assert "channel_not_found" in (await _last_error(h, "slack:person:mina") or "")
    assert (await h.answer(rid, "jae")).code == "approved"
    assert (await h.state(rid)).status is Status.APPROVED


async def test_dur_15_a_poison_message_does_not_block_the_rows_behind_it(
    engine: AsyncEngine,
) -> None:
    h = Harness(engine)
    attempts = h.relay.retry.max_attempts
    h.chat.fail("U0MINA", *(TemporaryFailure("always broken") for _ in range(attempts)))
    first = await h.open("soo", system="doc-search")
    second = await h.open("soo", system="doc-search")  # queued behind the poison row
    for _ in range(attempts + 1):
        await h.relay.drain()
        h.clock.advance(minutes=10)
    assert await h.outbox_count("dead") == 1
    assert "gave up after 8 attempts" in (await _last_error(h, "slack:person:mina") or "")
    assert await h.outbox_count("pending") == 0
    delivered = h.chat.posts_to("U0MINA")
    assert len(delivered) == 1
    assert delivered[0].message.card is not None
    assert delivered[0].message.card.request_id == second != first
