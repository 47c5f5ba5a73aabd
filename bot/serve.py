"""The composition root of `signoff serve`: settings in, platforms mounted, the server running.

The only module besides `bot.platforms` that names the platform adapters.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from bot.policy.source import policy_path
from bot.runtime import utc_now
from bot.settings import Settings
from bot.storage.database import safe_url

log = logging.getLogger("signoff")


def serve(settings: Settings) -> int:
    """Run `signoff serve` until it is stopped; the exit code."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from adapters.port import ChatPort
    from bot.policy.source import PolicyHolder
    from bot.runtime import Mount, build_runtime
    from bot.scheduling.scheduler import scheduler_mount
    from bot.server import create_app, settle_heap
    from bot.storage.migrate import current_revision, head_revision
    from workflows.policy_load import PolicyError

    path = policy_path(settings)
    for refusal in (settings.slack_problem(), settings.teams_problem()):
        if refusal:
            log.error("refusing to start: %s", refusal)
            return 2

    async def start() -> web.Application:
        current = await current_revision(settings.database)
        if current != head_revision():
            raise SystemExit(
                f"The database at {safe_url(settings.database)} is at revision {current}, "
                f"not {head_revision()}; run `signoff db upgrade` first."
            )
        policies = PolicyHolder(path)
        ports: dict[str, ChatPort] = {}
        mounts: list[Mount] = []
        if settings.slack_configured:
            from adapters.slack.chat import SlackChat
            from bot.platforms.slack import slack_client, slack_mount

            client = slack_client(settings)
            ports["slack"] = SlackChat(client)
            mounts.append(slack_mount(settings, client))
        factories: dict[str, Callable[[AsyncEngine], ChatPort]] = {}
        if settings.teams_configured:
            from bot.platforms.teams import teams_config, teams_mount, teams_port

            teams = teams_config(settings)
            factories["teams"] = teams_port(teams, utc_now, lambda: policies.current.policy)
            mounts.append(teams_mount(teams, utc_now))
        mounts.append(scheduler_mount(settings.signoff_sweep_seconds, utc_now))
        runtime = await build_runtime(
            settings, policies, clock=utc_now, ports=ports, port_factories=factories
        )
        log.info(
            "policy %s loaded (digest %s, %d systems)",
            path,
            runtime.policies.current.digest[:12],
            len(runtime.policies.current.policy.systems),
        )
        for line in settings.platform_report():
            log.info("%s", line)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, policies.reload_soon)
        log.info("send SIGHUP to reload the policy; a bad file keeps the last good policy")

        async def close_engine(_: web.Application) -> None:
            await runtime.engine.dispose()

        async def settle(_: web.Application) -> None:
            log.info("%d objects alive after startup left out of garbage collection", settle_heap())

        app = create_app(runtime, tuple(mounts))
        app.on_startup.append(settle)
        app.on_cleanup.append(close_engine)
        log.info(
            "serving on http://0.0.0.0:%d (database %s)",
            settings.port,
            safe_url(settings.database),
        )
        return app

    try:
        web.run_app(start(), port=settings.port, print=None)
    except PolicyError as error:
        for problem in error.problems:
            log.error("%s", problem)
        log.error("refusing to start: fix the policy file %s (see `signoff policy check`)", path)
        return 1
    return 0
