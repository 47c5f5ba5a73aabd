"""The CI client's fixtures: a local API v1 on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.client.standin import Served, served


@pytest.fixture
async def api() -> AsyncIterator[Served]:
    async for server in served():
        yield server
