"""DUR-11: a burst of 500 requests to one channel is paced, in order, and nothing is lost."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import RateLimited
from bot.delivery.relay import OutboxRelay
from bot.delivery.retry import RetryPolicy
from tests.harness import T0, Harness, Policies, build_policy

BURST = 500


async def test_dur_11_a_burst_to_one_channel_is_paced_and_complete(engine: AsyncEngine) -> None:
    def one_approver(raw: dict[str, Any]) -> None:
        # One approver and one channel: the burst, not the approvers' own queues, is measured.
        raw["roles"]["ai-governance-lead"]["members"] = ["mina"]
        raw["systems"]["doc-search"]["raci"]["deploy"]["informed"] = ["#ai-governance"]

    h = Harness(engine, policies=Policies.of(build_policy(one_approver)))
    # One person opens the whole burst, far past the hourly limit of one person.
    h.service.requests_per_hour = 10_000
    relay = OutboxRelay(
        engine,
        {"slack": h.chat},
        lambda: h.policies.current.policy,
        h.clock,
        h.metrics,
        retry=RetryPolicy(pace=timedelta(seconds=1)),
        jitter=lambda: 1.0,
    )
    opened = []
    for n in range(BURST):  # 500 requests in 10 seconds, all told to #ai-governance
        h.clock.now = T0 + timedelta(seconds=n / 50)
        opened.append(await h.open("soo", system="doc-search"))
    # Slack answers two 429s along the way; they hold the channel, they do not lose messages.
    h.chat.fail("C0GOV", RateLimited(2.0), RateLimited(2.0))

    posted_at: list[float] = []
    for tick in range(2 * BURST):
        h.clock.now = T0 + timedelta(seconds=10 + tick)
        before = len(h.chat.posts_to("C0GOV"))
        await relay.run_once()
        posted_at += [tick] * (len(h.chat.posts_to("C0GOV")) - before)
        if await relay.pending() == 0:
            break
    posts = h.chat.posts_to("C0GOV")
    assert len(posts) == BURST  # every request reached the channel
    assert all(b - a >= 1 for a, b in itertools.pairwise(posted_at))
    attempts = [d for _, d in h.chat.attempts if d == "C0GOV"]
    assert len(attempts) == BURST + 2  # the two 429s and nothing more: no storm
    order = [re.search(r"R[0-9A-Z]+", p.message.text) for p in posts]
    assert [m.group(0) if m else None for m in order] == opened  # in the order asked
