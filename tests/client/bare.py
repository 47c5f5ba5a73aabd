"""The CI client as a runner starts it: `python -I -S bot/client/request.py ...`, isolated from
the environment's Python settings and without site-packages, so nothing installed is found."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT

CLIENT = ROOT / "bot" / "client" / "request.py"
BARE = (sys.executable, "-I", "-S")


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def runner_env(**extra: str) -> dict[str, str]:
    """A clean environment: none of this machine's CI variables leak into a test."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}


def github_env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    """What a GitHub Actions runner sets for a step of job `deploy` in run 4242, attempt 1."""
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    summary.touch()
    output.touch()
    return runner_env(
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/credit-scoring",
        GITHUB_RUN_ID="4242",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_JOB="deploy",
        GITHUB_SHA="f" * 40,
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(output),
        ACTIONS_ID_TOKEN_REQUEST_URL=f"{url}/_github/token?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="runner-request-token",
        **extra,
    )


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *BARE,
        str(CLIENT),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process) -> Outcome:
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Outcome(process.returncode, out.decode(), err.decode())


async def run(*args: str, env: dict[str, str]) -> Outcome:
    return await finish(await start(*args, env=env))


async def until(condition: Callable[[], object], what: str, tries: int = 300) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen")


async def read_until(process: asyncio.subprocess.Process, text: str) -> str:
    """What the client printed up to and including the first line holding `text`."""
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or text not in lines[-1]:
        line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        if not line:
            raise AssertionError(f"the client ended before saying {text!r}:\n{''.join(lines)}")
        lines.append(line)
    return "".join(lines)
