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
import itertools
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from adapters.api.problems import ApiProblem
from adapters.api.routes import parse
from adapters.api.schema import OpenRequestBody
from bench.api_serve import (
    CARDS_PER_OPEN,
    cpu_seconds,
    free_port,
    open_body,
    raise_open_files,
    signoff_serve,
    stop,
    until_cards,
    until_healthy,
)
from bench.load import Run, drive, print_runs


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
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.api_open", "--bare", str(port)
    )
    try:
        await until_healthy(f"http://127.0.0.1:{port}")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        await stop(process)


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
