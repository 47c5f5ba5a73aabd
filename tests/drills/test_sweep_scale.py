"""Ten thousand systems in a generated policy: a sweep schedules and reminds them all.

Delivery is left out (the relay drains the outbox at its own pace); `bench/sweep.py` measures
the same sweep's time and memory.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.generate import generated_policy
from bot.scheduling.sweep import run_sweep
from bot.storage.tables import outbox, risk_reviews
from tests.harness import T0, Harness, Policies

SYSTEMS = 10_000


async def test_one_sweep_over_ten_thousand_systems(engine: AsyncEngine) -> None:
    h = Harness(engine, policies=Policies.of(generated_policy(SYSTEMS)))
    first = await run_sweep(h.runtime(), T0, deliver=False)
    assert first.reviews_scheduled == SYSTEMS and first.reviews_ticked == 0
    h.clock.now = T0 + timedelta(days=23)  # every first review's 7-day reminder is due
    due = await run_sweep(h.runtime(), h.clock.now, deliver=False)
    assert due.reviews_ticked == SYSTEMS and due.reviews_scheduled == 0
    again = await run_sweep(h.runtime(), h.clock.now, deliver=False)
    assert again.reviews_ticked == 0
    async with engine.connect() as conn:
        queued = await conn.scalar(select(func.count()).select_from(outbox))
        open_reviews = await conn.scalar(
            select(func.count()).where(risk_reviews.c.open_system.is_not(None))
        )
    assert queued == 2 * SYSTEMS  # the Responsible and the Accountable of each system
    assert open_reviews == SYSTEMS
    ledger = await h.ledger()
    assert [e.action for e in ledger].count("review-reminded") == SYSTEMS
    assert await h.chain_ok()
