"""The aiohttp application factory: routes, and the outbox relay's lifetime.

Imports no adapter SDKs; platforms mount their own routes through the `mounts` argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import text

from bot.runtime import RUNTIME, Mount, Runtime

log = logging.getLogger("signoff.app")

MAX_BODY_BYTES = 1024 * 1024


def create_app(runtime: Runtime, mounts: tuple[Mount, ...] = ()) -> web.Application:
    """The HTTP application; the relay runs while the application does."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    for mount in mounts:
        mount(app, runtime)
    # The console, when mounted, is the front page.
    routes = app.router.routes()
    if not any(r.method == "GET" and r.resource and r.resource.canonical == "/" for r in routes):
        app.router.add_get("/", _index)
    app.cleanup_ctx.append(_relay_task)
    return app


# Python's default is 10: a full collection after every ten of the middle generation's.
FULL_COLLECTION_EVERY = 1000


def settle_heap() -> int:
    """Collect once, then freeze what is left; returns how many objects were frozen.

    What is alive once the server has started (modules, the SDKs' classes, the policy) lives
    as long as the process. Python's full collections walk every object and stop every
    request in flight while they do: 60-130 ms each in B5, which made its p99. Frozen
    objects are left out of them. What stays alive while the server runs (ten thousand held
    long-polls, say) still makes a full collection last 400-500 ms, every 5-12 s at Python's
    default; one after a thousand of the middle generation's collections instead of ten
    makes that pause rare enough to leave the p99 (B7). Garbage in cycles that reaches the
    oldest generation waits longer.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    return gc.get_freeze_count()


async def _relay_task(app: web.Application) -> AsyncIterator[None]:
    runtime = app[RUNTIME]
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.relay.run_forever(stop))
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


async def _healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    body: dict[str, object] = {"policy_digest": runtime.policies.current.digest}
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        body["pending_messages"] = await runtime.relay.pending()
    except Exception as error:  # any database failure is "not healthy", never a 500
        log.warning("health check: database unavailable: %s", error)
        return web.json_response({**body, "status": "unavailable", "database": "down"}, status=503)
    return web.json_response({**body, "status": "ok", "database": "up"})


async def _metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    runtime.metrics.pending.set(await runtime.relay.pending())
    return web.Response(body=runtime.metrics.render(), content_type="text/plain")


async def _index(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    systems = ", ".join(sorted(runtime.policies.current.policy.systems))
    return web.Response(
        text=(
            "Signoff is running.\n"
            f"Policy {runtime.policies.current.digest[:12]} with systems: {systems}.\n"
            "Health: /healthz  Metrics: /metrics\n"
        )
    )
