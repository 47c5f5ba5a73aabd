"""The composition root of `signoff serve`: settings in, platforms mounted, the server running.

Names no adapter itself: `bot.platforms` builds each configured platform's port and routes.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket

from aiohttp import web

from bot.policy.source import policy_path
from bot.runtime import utc_now
from bot.settings import Settings
from bot.storage.database import safe_url

log = logging.getLogger("signoff")


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port; raises OSError when it cannot be had."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family, backlog=128)


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    # create_server's own message repeats the address; the system's is enough.
    number = error.errno or 0
    reason = os.strerror(number) if number > 0 else error.strerror or str(error)
    hint = (
        "another process is listening there; stop it or set PORT (or HOST) to listen elsewhere"
        if error.errno == errno.EADDRINUSE
        else "set HOST and PORT to an address of this machine that may be used"
    )
    return f"cannot listen on {host}:{port}: {reason[:1].lower()}{reason[1:]}; {hint}"


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(settings: Settings) -> int:
    """Run `signoff serve` until it is stopped; the exit code."""
    from bot.platforms.ports import platform_ports
    from bot.policy.source import PolicyHolder
    from bot.runtime import Mount, build_runtime
    from bot.scheduling.anchoring import anchor_config
    from bot.scheduling.scheduler import scheduler_mount
    from bot.server import create_app, settle_heap
    from bot.storage.migrate import current_revision, head_revision
    from workflows.policy_load import PolicyError

    path = policy_path(settings)
    for refusal in (settings.slack_problem(), settings.teams_problem()):
        if refusal:
            log.error("refusing to start: %s", refusal)
            return 2
    try:
        anchoring = anchor_config(settings)
    except ValueError as error:
        log.error("refusing to start: %s", error)
        return 2
    from bot.platforms.console import console_mode
    from bot.platforms.console_mount import console_mount

    try:
        console, console_line = console_mode(settings)
        console_site = console_mount(settings, console) if console is not None else None
    except ValueError as error:
        log.error("refusing to start: %s", error)
        return 2
    from bot.platforms.github import github_configured, github_problem

    if github_refusal := github_problem(settings):
        log.error("refusing to start: %s", github_refusal)
        return 2
    # Before anything else: a port in use must not cost a sweep, a ledger write or a
    # traceback after "serving on".
    try:
        sock = listen(settings.host, settings.port)
    except OSError as error:
        log.error("%s", _cannot_listen(settings.host, settings.port, error))
        return 1

    async def start() -> web.Application:
        current = await current_revision(settings.database)
        if current != head_revision():
            raise SystemExit(
                f"The database at {safe_url(settings.database)} is at revision {current}, "
                f"not {head_revision()}; run `signoff db upgrade` first."
            )
        policies = PolicyHolder(path)
        platforms = platform_ports(settings, utc_now, lambda: policies.current.policy)
        mounts: list[Mount] = []
        if platforms.slack is not None:
            from bot.platforms.slack import slack_mount

            mounts.append(slack_mount(settings, platforms.slack))
        if platforms.teams is not None:
            from bot.platforms.teams import teams_mount

            mounts.append(teams_mount(platforms.teams, utc_now))
        mounts.append(scheduler_mount(settings.signoff_sweep_seconds, utc_now, anchoring))
        from bot.platforms.api import api_mount
        from bot.services.api_oidc import Issuers

        issuers = Issuers(
            settings.signoff_public_url,
            settings.signoff_github_oidc_issuer,
            settings.signoff_gitlab_oidc_issuer,
        )
        mounts.append(api_mount(issuers))
        if github_configured(settings):
            from bot.platforms.github import github_app, github_mount

            mounts.append(github_mount(settings, github_app(settings)))
        if console_site is not None:
            mounts.append(console_site)
        runtime = await build_runtime(
            settings,
            policies,
            clock=utc_now,
            ports=platforms.ports,
            port_factories=platforms.factories,
        )
        log.info(
            "policy %s loaded (digest %s, %d systems)",
            path,
            runtime.policies.current.digest[:12],
            len(runtime.policies.current.policy.systems),
        )
        for line in settings.platform_report():
            log.info("%s", line)
        from bot.platforms.github import report as github_report

        log.info("%s", github_report(settings))
        log.info("%s", console_line)
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
        log.info("serving on %s (database %s)", _url(sock), safe_url(settings.database))
        return app

    try:
        web.run_app(start(), sock=sock, print=None)
    except PolicyError as error:
        for problem in error.problems:
            log.error("%s", problem)
        log.error("refusing to start: fix the policy file %s (see `signoff policy check`)", path)
        return 1
    finally:
        sock.close()
    return 0
