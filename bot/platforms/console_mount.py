"""Mounts the console on the server: its routes, templates and static files, by its mode.

The route table is here so one glance shows every URL the console answers.
"""

from __future__ import annotations

from aiohttp import web

from adapters.console.render import setup
from bot.platforms.console import Mode, session_codec
from bot.platforms.console_auth import CALLBACK, SignIn, oidc_config
from bot.platforms.console_pages import ConsolePages
from bot.runtime import Mount, Runtime
from bot.settings import Settings


def console_mount(settings: Settings, mode: Mode) -> Mount:
    """The console at `/`; raises ValueError when the settings cannot run `mode` safely."""
    codec = session_codec(settings, mode)
    platforms = settings.platform_report()
    if mode == "oidc":
        oidc_config(settings)  # what is missing is said before the server starts

    def mount(app: web.Application, runtime: Runtime) -> None:
        site = ConsolePages(runtime, codec, mode, platforms)
        site.proxy_header = settings.signoff_console_proxy_header
        setup(app)
        app.router.add_routes(
            [
                web.get("/", site.index),
                web.get("/requests", site.requests),
                web.get("/requests/new", site.new_request),
                web.post("/requests", site.open),
                web.get("/requests/{request_id}", site.request_page),
                web.post("/requests/{request_id}/answer", site.answer),
                web.post("/requests/{request_id}/cancel", site.cancel),
                web.get("/inventory", site.inventory),
                web.get("/reviews", site.reviews),
                web.get("/incidents", site.incidents),
                web.get("/indicators", site.kpis),
                web.get("/ledger", site.ledger),
                web.post("/ledger/export", site.export),
                web.post("/ledger/evidence", site.evidence),
                web.get("/console/mark", site.mark),
                web.post("/console/as", site.act_as),
                web.post("/console/sign-out", site.sign_out),
            ]
        )
        if mode == "oidc":
            sign_in = SignIn(site, settings)
            app.router.add_get("/console/sign-in", sign_in.start)
            app.router.add_get(CALLBACK, sign_in.callback)
            app.cleanup_ctx.append(sign_in.running)

    return mount
