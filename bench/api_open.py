"""B6, opening requests through API v1, against a bare aiohttp handler that validates the same
JSON with the same pydantic model and answers 201.

Run by hand (it is not a test):

    .venv/bin/python -m bench.api_open                  # SQLite, 1,000 opens a run
    .venv/bin/python -m bench.api_open --database postgresql+asyncpg://postgres@127.0.0.1:5432/bench_api

Each server has a process of its own: Signoff is `signoff serve` as deployed (API v1 and Slack,
its cards going to a Slack stand-in), the bare handler `python -m bench.api_open --bare PORT`.
This process only generates the load and answers Signoff's Slack calls. CPU per request is the
server process's utime + stime from /proc/<pid>/stat: from before the first request to the
last response, and for Signoff also until every card of the run has reached the stand-in.
A PostgreSQL database named with --database is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy.engine import make_url

from adapters.api.problems import ApiProblem
from adapters.api.routes import parse
from adapters.api.schema import OpenRequestBody
from bench.load import Run, drive, print_runs
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


def _free_port() -> int:
    import socket

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
    port = _free_port()
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
        process.terminate()
        await asyncio.wait_for(process.wait(), 60)
        await slack_runner.cleanup()


def bare_app() -> web.Application:
    """The baseline: the same body limit and model, no authentication, no database."""

    async def open_request(request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        try:
            if not key:
                return web.json_response({"detail": "Idempotency-Key"}, status=400)
            body = parse(OpenRequestBody, await request.read())
        except ApiProblem as problem:
            return web.json_response({"detail": problem.detail}, status=422)
        view = {"id": uuid.uuid4().hex, "status": "pending", "system": body.system}
        return web.json_response(view, status=201, headers={"Location": f"/r/{view['id']}"})

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_post("/api/v1/requests", open_request)
    app.router.add_get("/healthz", lambda _: _ok())
    return app


async def _ok() -> web.Response:
    return web.Response(text="ok")


@contextlib.asynccontextmanager
async def bare_server() -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.api_open", "--bare", str(port)
    )
    try:
        await until_healthy(f"http://127.0.0.1:{port}")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def timed(
    name: str,
    pid: int,
    url: str,
    bodies: list[bytes],
    headers: Callable[[bytes], dict[str, str]],
    concurrency: int,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> tuple[Run, float]:
    """A run whose CPU is server `pid`'s: to the last response, and (second) after `settle`."""
    before = cpu_seconds(pid)
    run = await drive(name, url, bodies, headers, concurrency)
    answered = cpu_seconds(pid) - before
    if settle is not None:
        await settle()
    return replace(run, cpu_seconds=answered), cpu_seconds(pid) - before


def keyed(served_headers: Callable[[str], dict[str, str]], prefix: str) -> Any:
    """Bodies of the run and a `headers(body)` giving each its own Idempotency-Key."""
    keys: dict[bytes, str] = {}
    counter = itertools.count()

    def bodies(count: int) -> list[bytes]:
        made = [json.dumps(open_body(n, prefix)).encode() for n in range(count)]
        for body in made:
            keys[body] = f"{prefix}-{next(counter)}"
        return made

    def headers(body: bytes) -> dict[str, str]:
        return served_headers(keys[body])

    return bodies, headers


async def until_cards(served: Served, count: int, seconds: float = 600) -> None:
    for _ in range(int(seconds * 20)):
        if served.cards() >= count:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"only {served.cards()} of {count} cards arrived")


async def main(
    database: str | None, requests: int, concurrency: int, warmup: int, profile: str | None
) -> int:
    raise_open_files()
    async with signoff_serve(database, profile) as served, bare_server() as (bare, bare_base):
        run_id = uuid.uuid4().hex[:8]
        make_bare, bare_headers = keyed(served.headers, f"bare-{run_id}")
        make_ours, our_headers = keyed(served.headers, f"ours-{run_id}")
        opens = f"{served.base}/api/v1/requests"
        print(f"warming up with {warmup} opens each", file=sys.stderr)
        await drive("warm-up", f"{bare_base}/api/v1/requests", make_bare(warmup), bare_headers, 4)
        await drive("warm-up", opens, make_ours(warmup), our_headers, 4)
        await until_cards(served, warmup * CARDS_PER_OPEN)
        baseline, _ = await timed(
            "baseline: bare aiohttp + same model",
            bare.pid,
            f"{bare_base}/api/v1/requests",
            make_bare(requests),
            bare_headers,
            concurrency,
        )
        expected = served.cards() + requests * CARDS_PER_OPEN
        ours, with_cards = await timed(
            f"Signoff API v1, concurrency {concurrency}",
            served.pid,
            opens,
            make_ours(requests),
            our_headers,
            concurrency,
            settle=lambda: until_cards(served, expected),
        )
    dialect = (database or "sqlite").split(":", 1)[0].split("+")[0]
    print_runs(
        f"B6 API v1 open on {dialect}: {requests:,} opens a run, loopback HTTP, "
        "each server in its own process (CPU ms: the server process's)",
        [baseline, ours],
    )
    print(f"  throughput ratio Signoff / baseline: {ours.rate / baseline.rate:.2f} (target 0.3)")
    print(
        f"  Signoff CPU per open until its {CARDS_PER_OPEN} cards were delivered: "
        f"{with_cards / requests * 1000:.2f} ms"
    )
    return 0


def serve_bare(port: int) -> int:
    web.run_app(bare_app(), host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


def cli() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (default: a new SQLite file)")
    parser.add_argument("--requests", type=int, default=1000, help="opens per run")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--profile", help="write a cProfile of `signoff serve` to this file")
    parser.add_argument("--bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        return serve_bare(args.bare)
    started = time.perf_counter()
    code = asyncio.run(
        main(args.database, args.requests, args.concurrency, args.warmup, args.profile)
    )
    print(f"  (whole run {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(cli())
