"""`signoff mcp` as an MCP client launches it, beside a real `signoff serve`, and Slack's clicks.

The MCP side is the official SDK's client (`stdio_client` and `ClientSession`) starting
`python -m bot mcp` as a subprocess; Signoff's side is `tests.api_process.api_world`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, Implementation

from tests.api_process import ApiWorld
from tests.serve_process import until
from tests.slack_standin import Call

# The MCP client's name: what approvers are told the agent calls itself.
CLIENT_NAME = "support-desk"


@contextlib.asynccontextmanager
async def mcp_session(world: ApiWorld, token: str, **env: str) -> AsyncIterator[ClientSession]:
    """An initialized MCP session with `signoff mcp`, configured as an MCP client's JSON does."""
    given = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SIGNOFF_URL": world.server.base,
        "SIGNOFF_TOKEN": token,
        **env,
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "bot", "mcp"], env=given, cwd=world.tmp_path
    )
    with (world.tmp_path / "mcp.log").open("a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            info = Implementation(name=CLIENT_NAME, version="1.0")
            async with ClientSession(read, write, client_info=info) as session:
                await session.initialize()
                yield session


def told(result: CallToolResult) -> dict[str, Any]:
    """What the model reads of a tool result: its JSON text (the same as structuredContent)."""
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    said: dict[str, Any] = json.loads(text)
    assert result.structuredContent == said
    return said


async def press(world: ApiWorld, user: str, needle: str, action: str) -> None:
    """`user` presses `action` on the card in their direct messages that mentions `needle`."""
    channel = "D" + user[1:]

    def cards() -> list[Call]:
        return [
            call
            for call in world.standin.called("chat.postMessage")
            if call.args["channel"] == channel and needle in json.dumps(call.args)
        ]

    await until(cards, f"a card about {needle} to {user}", [world.server])
    await world.settled()
    card = cards()[-1]
    payload = world.standin.press(user, card, action)
    status, _ = await world.slack.post(urlencode({"payload": json.dumps(payload)}).encode())
    assert status == 200


async def reject(world: ApiWorld, user: str, needle: str, reason: str) -> None:
    """`user` presses Reject on the card about `needle` and gives `reason` in Slack's form."""
    forms = len(world.standin.called("views.open"))
    await press(world, user, needle, "reject")
    await until(
        lambda: len(world.standin.called("views.open")) > forms, "the reason form", [world.server]
    )
    status, _ = await world.slack.post(world.standin.reason_submission(user, reason))
    assert status == 200


def stored_bytes(tmp_path: Path) -> bytes:
    """The SQLite database as it lies on disk, its write-ahead log included."""
    return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("signoff.db*")))
