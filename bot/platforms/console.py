"""Wires the console into the shell: which sign-in it uses, the session, and the helpers every
console route shares (who is looking, what they may do, how a page is answered).

The only module of `bot` besides the console's route modules that knows `adapters.console`.
Local mode (pick any person of the policy) exists only on a loopback address.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from aiohttp import web

from adapters.console.forms import web_actor
from adapters.console.render import render
from adapters.console.session import Session, SessionCodec, csrf_matches
from bot.runtime import Runtime
from bot.services.console_access import is_auditor
from bot.services.console_reads import ConsoleReads
from bot.settings import Settings
from workflows.inventory import person_by_email
from workflows.model import Actor
from workflows.policy import Policy

log = logging.getLogger("signoff.console")

Mode = Literal["local", "oidc", "proxy"]
MAX_FORM_BYTES = 64 * 1024


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is this machine's loopback (127/8, ::1)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in found)


def console_mode(settings: Settings) -> tuple[Mode | None, str]:
    """The console's mode for these settings and a line saying so; (None, why) when it is off.

    Raises ValueError, with the sentence to log, when the settings ask for local mode on an
    address other machines can reach.
    """
    wanted = settings.signoff_console
    if wanted == "off":
        return None, "Console: off (SIGNOFF_CONSOLE=off)"
    if settings.signoff_console_oidc_issuer:
        return (
            "oidc",
            f"Console: on at / with OpenID Connect sign-in from "
            f"{settings.signoff_console_oidc_issuer}",
        )
    if settings.signoff_console_proxy_header:
        return (
            "proxy",
            f"Console: on at / behind a proxy; its {settings.signoff_console_proxy_header} "
            "header names the person",
        )
    if is_loopback(settings.host):
        return "local", (
            f"Console: local mode at / on {settings.host}: anyone here may act as any person "
            "of the policy; configure sign-in before listening elsewhere"
        )
    if wanted == "local":
        raise ValueError(
            f"SIGNOFF_CONSOLE=local but HOST={settings.host} is not a loopback address: local "
            "mode lets anyone act as any person of the policy, so it runs only on 127.0.0.1 "
            "or ::1. Set HOST=127.0.0.1, or configure sign-in (SIGNOFF_CONSOLE_OIDC_ISSUER "
            "or SIGNOFF_CONSOLE_PROXY_HEADER)"
        )
    return None, (
        f"Console: off on {settings.host} without sign-in; set SIGNOFF_CONSOLE_OIDC_ISSUER "
        "(or SIGNOFF_CONSOLE_PROXY_HEADER) to turn it on, or listen on 127.0.0.1 for local mode"
    )


@dataclass(frozen=True)
class Viewer:
    """The browser's session and the policy person it acts as (None: nobody yet)."""

    session: Session
    person: str | None

    def actor(self) -> Actor:
        assert self.person is not None
        return web_actor(self.person, self.session.account or self.person)


class ConsoleBase:
    """What every console route shares: the runtime, the reads, the session and the mode."""

    def __init__(
        self, runtime: Runtime, codec: SessionCodec, mode: Mode, platforms: list[str]
    ) -> None:
        self.runtime, self.codec, self.mode, self.platforms = runtime, codec, mode, platforms
        self.reads = ConsoleReads(runtime.service.uow)
        self.proxy_header: str | None = None

    @property
    def policy(self) -> Policy:
        return self.runtime.policies.current.policy

    def now(self) -> datetime:
        return self.runtime.service.uow.clock()

    def viewer(self, request: web.Request) -> Viewer:
        session = self.codec.read(request, self.now()) or self.codec.new(self.now())
        person = session.person
        if self.mode == "proxy" and self.proxy_header:
            person = self._proxied(request.headers.get(self.proxy_header))
            session = replace(session, person=person, account=person)
        if person is not None and person not in self.policy.people:
            person = None  # a reloaded policy no longer has them
        return Viewer(session, person)

    def _proxied(self, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        return value if value in self.policy.people else person_by_email(self.policy, value)

    async def posted(self, request: web.Request) -> tuple[Viewer, dict[str, str]]:
        """A console form, once its CSRF token matched the session's; 403 otherwise."""
        viewer = self.viewer(request)
        if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
        raw = await request.post()
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        if not csrf_matches(self.codec.read(request, self.now()), form.get("csrf")):
            log.warning("console: a form without the session's CSRF token was refused")
            raise web.HTTPForbidden(
                text="This form has expired or did not come from this console. "
                "Reload the page and try again."
            )
        return viewer, form

    async def page(
        self,
        request: web.Request,
        viewer: Viewer,
        template: str,
        context: dict[str, object],
        status: int = 200,
    ) -> web.Response:
        """A rendered page; the flash message it shows is cleared from the session."""
        policy = self.policy
        common: dict[str, object] = {
            "mode": self.mode,
            "viewer": viewer.person,
            "viewer_name": policy.people[viewer.person].name if viewer.person else None,
            "auditor": is_auditor(policy, viewer.person),
            "people": sorted(policy.people.items(), key=lambda item: item[1].name),
            "csrf": viewer.session.csrf,
            "flash": viewer.session.flash,
            "flash_ok": viewer.session.flash_ok,
            "zone": policy.timezone,
            "path": request.path_qs,
            "here": request.path,
            "submission": secrets.token_urlsafe(16),
            # The ledger's head as this page was drawn: the live refresh compares with it.
            "mark": (await self.reads.head())[0] if viewer.person else None,
        }
        response = render(request, template, {**common, **context}, status)
        self.codec.write(response, replace(viewer.session, flash=None, flash_ok=True))
        return response

    def redirect(self, location: str, session: Session) -> web.Response:
        """After a form: see the result (303), with the session carrying its message."""
        response = web.Response(status=303, headers={"Location": location})
        self.codec.write(response, session)
        return response


def session_codec(settings: Settings, mode: Mode) -> SessionCodec:
    """Sessions signed with SIGNOFF_CONSOLE_SECRET; in local mode a fresh secret per process
    will do, since nothing is shared beyond this machine."""
    given = settings.signoff_console_secret
    if given is not None and given.get_secret_value().strip():
        secret = given.get_secret_value().encode()
    elif mode == "local":
        secret = secrets.token_bytes(32)
    else:
        raise ValueError(
            "the console's sign-in needs SIGNOFF_CONSOLE_SECRET (at least 32 characters) to "
            "sign its sessions"
        )
    hours = timedelta(hours=settings.signoff_console_session_hours)
    return SessionCodec(secret, hours, secure=not is_loopback(settings.host))
