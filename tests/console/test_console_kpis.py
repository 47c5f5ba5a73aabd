"""The console's indicators: figures from the stored requests, drawn as SVG on the server."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.console_kpis import percentile
from tests.console.site import console_site


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([5.0], 0.5) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.9) == 4.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


async def test_indicators_count_decisions_expiries_and_sources(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("priya")
        decided = await browser.open("1.0", "search:deploy")
        harness.clock.advance(hours=3)
        await browser.act_as("kim")
        await browser.answer(decided, "approve")
        await browser.act_as("priya")
        expiring = await browser.open("1.1", "search:deploy")
        harness.clock.advance(days=15)  # minimal tier: expires after 14 days
        assert (await harness.tick(expiring)).ok
        await browser.act_as("lena")
        page = await browser.get("/indicators")
        facts = re.sub(r"\s+", " ", page[page.index('id="kpi-facts"') :])
        assert "Expired share</dt><dd>50 %" in facts
        assert '<desc id="decision-d">minimal p50: 3.0 h; minimal p90: 3.0 h</desc>' in page
        assert '<desc id="sources-d">console: 2</desc>' in page
        assert "approved: 1; rejected: 0; cancelled: 0; expired: 1" in page
        # Someone who sees neither request sees indicators of nothing.
        await browser.act_as("dan")
        assert '<desc id="sources-d">' not in await browser.get("/indicators")
