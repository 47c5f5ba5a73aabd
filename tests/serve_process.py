"""Real `signoff serve` processes for drills: start, wait until healthy, read the log, stop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    keep.pop("SIGNOFF_POLICY", None)
    return {**keep, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'signoff.db'}", **extra}


def signoff(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), timeout=15)


async def start_server(tmp_path: Path, name: str, env: dict[str, str]) -> Server:
    """A `signoff serve` on a free port, once its /healthz answers 200."""
    port = _free_port()
    log = tmp_path / f"{name}.log"
    with log.open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve",
            env={**env, "PORT": str(port)}, cwd=tmp_path,
            stdout=sink, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, port, log)
    async with aiohttp.ClientSession() as http:
        for _ in range(150):
            try:
                async with http.get(f"{server.base}/healthz") as health:
                    if health.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    await server.stop()
    raise AssertionError(f"{name} did not become healthy:\n{server.text()}")


async def until(
    condition: Callable[[], object], what: str, servers: list[Server], tries: int = 150
) -> None:
    """Wait until `condition()` is truthy (a list of what arrived counts once non-empty)."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.1)
    logs = "\n".join(f"--- {s.log.name}\n{s.text()}" for s in servers)
    raise AssertionError(f"{what} did not happen\n{logs}")
