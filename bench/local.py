"""What every benchmark sets up: a database with the schema, and servers on loopback."""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path

from aiohttp import web

from bot.storage.database import create_engine
from bot.storage.tables import metadata
from tests.slack_standin import SlackStandIn
from tests.teams_standin import BotConnector


async def database_with_schema(url: str | None) -> str:
    """`url` (an empty database) or a new SQLite file, with Signoff's tables created."""
    url = url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
    return url


async def serve_locally(app: web.Application) -> tuple[web.AppRunner, str]:
    """`app` on a free loopback port: its runner (clean it up) and its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def stop_recording(standin: SlackStandIn | BotConnector) -> None:
    """Once set up, the stand-in forgets its calls and records no more: its memory of every
    call is not the app's, and the garbage collector would walk it in every full pass."""
    standin.calls.clear()
    standin.keep_calls = False
    gc.collect()
