"""Every scenario of the table on Slack and on Teams (issue 22), on SQLite and PostgreSQL: a
chat feature that works on one platform and not on the other fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.scenarios.driver import ChatDriver
from tests.scenarios.slack_driver import slack_driver
from tests.scenarios.table import SCENARIOS, Scenario, scenario_policy
from tests.scenarios.teams_driver import teams_driver

Opener = Callable[[AsyncEngine, Callable[[dict[str, Any]], None]], AbstractAsyncContextManager[Any]]
DRIVERS: dict[str, Opener] = {"slack": slack_driver, "teams": teams_driver}


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, engine: AsyncEngine) -> AsyncIterator[ChatDriver]:
    async with DRIVERS[request.param](engine, scenario_policy) as made:
        yield made


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_scenario(driver: ChatDriver, scenario: Scenario) -> None:
    await scenario.run(driver)
    assert await driver.h.chain_ok()
