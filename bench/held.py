"""B7's floor: a bare aiohttp process holding the same long-polls with no database and no
views, each released by a POST, so its memory per held request and its release-to-answer
time are what aiohttp and asyncio cost on this machine.

`python -m bench.held PORT` serves it; `bench.long_polls` starts it and drives it beside
Signoff, with the same client, the same ramp and the same release rate.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from bench.api_serve import free_port, percentile, rss_bytes, stop, until_healthy, until_idle

WAIT = 30


def held_app() -> web.Application:
    released: dict[str, asyncio.Event] = {}

    async def hold(request: web.Request) -> web.Response:
        event = released.setdefault(request.match_info["id"], asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), WAIT)
        except TimeoutError:
            return web.Response(status=304)
        return web.json_response({"id": request.match_info["id"], "status": "approved"})

    async def release(request: web.Request) -> web.Response:
        released.setdefault(request.match_info["id"], asyncio.Event()).set()
        return web.Response(text="released")

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/r/{id}", hold)
    app.router.add_post("/release/{id}", release)
    app.router.add_get("/healthz", health)
    return app


async def hold_one(
    http: aiohttp.ClientSession,
    base: str,
    request_id: str,
    released_at: dict[str, float],
    latencies: list[float],
) -> None:
    """Ask until released, as a Signoff waiter asks until its request is decided."""
    while True:
        async with http.get(f"{base}/r/{request_id}") as answer:
            await answer.read()
            if answer.status == 200:
                latencies.append(time.perf_counter() - released_at[request_id])
                return


@dataclass(frozen=True)
class Floor:
    held: int
    bytes_per_held: float
    p50_ms: float
    p99_ms: float


async def measure_floor(
    waiters: int, requests: int, release: int, connect: float, per_second: float
) -> Floor:
    """`waiters` held on `requests` ids by a bare process, then `release` ids let go at
    `per_second`: memory per held request, and release-to-answer times."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.held", str(port))
    base = f"http://127.0.0.1:{port}"
    released_at: dict[str, float] = {}
    latencies: list[float] = []
    try:
        await until_healthy(base)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=WAIT + 60)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=timeout
        ) as http:
            await until_idle(process.pid)
            before = rss_bytes(process.pid)
            started = time.perf_counter()
            tasks = []
            for n in range(waiters):
                one = hold_one(http, base, f"r{n % requests}", released_at, latencies)
                tasks.append(asyncio.ensure_future(one))
                if n % 50 == 49:
                    await asyncio.sleep(max(0.0, started + n / connect - time.perf_counter()))
            await until_idle(process.pid)
            held = sum(1 for task in tasks if not task.done())
            grown = rss_bytes(process.pid) - before
            began = time.perf_counter()
            for n in range(release):
                await asyncio.sleep(max(0.0, began + n / per_second - time.perf_counter()))
                released_at[f"r{n}"] = time.perf_counter()
                async with http.post(f"{base}/release/r{n}") as answer:
                    await answer.read()
            for _ in range(100):
                if len(latencies) >= release * (waiters // requests):
                    break
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await stop(process)
    return Floor(
        held, grown / max(held, 1), percentile(latencies, 0.5), percentile(latencies, 0.99)
    )


if __name__ == "__main__":
    web.run_app(held_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
