"""A `signoff serve` process for the API benchmarks (B6, B7): its policy, a fresh database,
a client token, a Slack stand-in for its cards, and readers of its CPU and memory in /proc.

Signoff runs as deployed, in a process of its own; the benchmark that starts it only generates
load and answers its Slack calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bench.local import serve_locally
from tests.slack_standin import SlackStandIn

CLIENT = "bench-pipeline"
SYSTEM = "support-chatbot"
# Two Accountable people get a card each, and the Informed channel a third.
CARDS_PER_OPEN = 3
POLICY = f"""
version: 1
timezone: UTC
people:
  mina:  {{name: Mina Park, email: mina@acme.example, slack: U0MINA}}
  tomas: {{name: Tomas Berg, email: tomas@acme.example, slack: U0TOMAS}}
  jae:   {{name: Jae Kim, email: jae@acme.example, slack: U0JAE}}
roles:
  ai-governance-lead: {{members: [mina, tomas]}}
  ml-engineer: {{members: [jae]}}
channels:
  ai-governance: {{slack: C0AIGOV}}
tiers:
  limited: {{quorum: 1, review_every: 90d, remind_after: 24h, expire_after: 7d}}
systems:
  {SYSTEM}:
    name: Customer support assistant
    tier: limited
    raci:
      deploy: {{responsible: [ml-engineer], accountable: ai-governance-lead,
               informed: ["#ai-governance"]}}
clients:
  {CLIENT}:
    token: true
    may_request: {{{SYSTEM}: [deploy]}}
    requests_per_minute: 100000
"""
SLACK_SECRET = "bench-signing-secret"


def open_body(n: int, run: str) -> dict[str, Any]:
    """A pipeline's open as the contract's example has it: artifact, CI run, agent call."""
    digest = "sha256:" + hashlib.sha256(f"{run}-{n}".encode()).hexdigest()
    return {
        "system": SYSTEM,
        "activity": "deploy",
        "version": f"2.{n}.0",
        "environment": "production",
        "reason": "retrained on Q3 data",
        "artifact": {"digest": digest, "uri": f"oci://registry.acme.example/support@{digest}"},
        "context": {
            "ci": {
                "provider": "github",
                "repository": "acme/support-chatbot",
                "run_id": str(n),
                "run_url": f"https://github.com/acme/support-chatbot/actions/runs/{n}",
            },
            "agent": {
                "name": "release-agent",
                "tool": "deploy",
                "preview": f'deploy(version="2.{n}.0", token="ghp_{"x" * 36}")',
            },
        },
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid`, every thread, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def raise_open_files() -> int:
    """The soft limit of open files raised to the hard one; servers started later inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def fresh_database(url: str | None, folder: Path) -> str:
    """A new SQLite file, or the PostgreSQL database `url` dropped and created anew."""
    if url is None:
        return f"sqlite+aiosqlite:///{folder / 'signoff.db'}"
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()
    return url


@dataclass
class Served:
    """A running `signoff serve`, the client token it accepts and its Slack stand-in."""

    process: asyncio.subprocess.Process
    base: str
    token: str
    standin: SlackStandIn
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def headers(self, key: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }

    def cards(self) -> int:
        return len(self.standin.called("chat.postMessage"))


def _signoff(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"signoff {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_healthy(base: str, path: str = "/healthz") -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(base + path) as answer:
                    if answer.status < 500:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


@contextlib.asynccontextmanager
async def signoff_serve(
    database: str | None, profile: str | None = None, **more_env: str
) -> AsyncIterator[Served]:
    """`signoff serve` on a fresh database, with API v1, Slack to a local stand-in, and a
    client token for the bench policy; under cProfile, written to `profile`, when given."""
    folder = Path(tempfile.mkdtemp(prefix="signoff-bench-"))
    (folder / "policy.yaml").write_text(POLICY)
    standin = SlackStandIn()
    slack_runner, slack = await serve_locally(standin.app())
    url = await fresh_database(database, folder)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))},
        "DATABASE_URL": url,
        "SIGNOFF_POLICY": str(folder / "policy.yaml"),
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "SLACK_API_URL": f"{slack}/api/",
        # The stand-in has no rate limit; pacing would measure Slack's limits, not Signoff.
        "SIGNOFF_PACE_SECONDS": "0",
        **more_env,
    }
    _signoff(env, "db", "upgrade")
    token = _signoff(env, "clients", "issue", CLIENT).splitlines()[0].strip()
    port = free_port()
    log = folder / "serve.log"
    with log.open("wb") as sink:
        profiling = ["-m", "cProfile", "-o", profile] if profile else []
        process = await asyncio.create_subprocess_exec(
            sys.executable, *profiling, "-m", "bot", "serve",
            env={**env, "PORT": str(port)}, cwd=folder, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(process, f"http://127.0.0.1:{port}", token, standin, log)
    try:
        await until_healthy(served.base)
        yield served
    finally:
        await stop(process)
        await slack_runner.cleanup()


async def stop(process: asyncio.subprocess.Process, grace: float = 15) -> None:
    """SIGTERM, and SIGKILL after `grace` seconds: a server still draining thousands of
    long-polls must not hold up the figures."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        await process.wait()


async def until_cards(served: Served, count: int, seconds: float = 600) -> None:
    for _ in range(int(seconds * 20)):
        if served.cards() >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {served.cards()} of {count} cards arrived")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def until_idle(pid: int, quiet: float = 2.0, limit: float = 120) -> float:
    """Wait until server `pid` has used almost no CPU for `quiet` seconds; the time it took."""
    started = time.perf_counter()
    still = 0.0
    last = cpu_seconds(pid)
    while time.perf_counter() - started < limit:
        await asyncio.sleep(0.25)
        now = cpu_seconds(pid)
        still = still + 0.25 if now - last <= 0.02 else 0.0
        last = now
        if still >= quiet:
            break
    return time.perf_counter() - started
