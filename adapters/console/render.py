"""The console's templates and static files: Jinja2 through aiohttp-jinja2, autoescaped.

Imports no `bot`. Templates and static files ship as package data of `adapters.console`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from workflows.ledger import parse_time
from workflows.times import readable_time

STATIC_PREFIX = "/console/static"
# What a console page may load and where it may be framed: its own files only, no inline script.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _when(moment: datetime | str | None, zone: str = "UTC") -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            moment = parse_time(moment)
        except ValueError:
            return str(moment)  # shown as stored rather than not at all
    return readable_time(moment, zone)


def _short(digest: str | None, length: int = 12) -> str:
    return (digest or "")[:length]


FILTERS: dict[str, Callable[..., str]] = {"when": _when, "short": _short}


def setup(app: web.Application) -> None:
    """The templates' environment on `app`, and the static files under `STATIC_PREFIX`."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("adapters.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        filters=FILTERS,
    )
    static = Path(str(files("adapters.console") / "static"))
    app.router.add_static(STATIC_PREFIX, static, append_version=True)


def render(
    request: web.Request, template: str, context: dict[str, object], status: int = 200
) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers.update(HEADERS)
    return response
