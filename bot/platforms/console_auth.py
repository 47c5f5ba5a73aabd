"""The console's sign-in with OpenID Connect: off to the issuer, back with a code, the ID
token checked, and the account bound to a person of the policy by an immutable id.

A new session starts at every sign-in (a new CSRF token too), so a session a browser held
before cannot be carried into someone's signed-in one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
from aiohttp import web

from adapters.console.oidc import OidcClient, OidcConfig, SignInFailed
from bot.platforms.console import ConsoleBase, is_loopback
from bot.services.console_access import person_signed_in
from bot.settings import Settings

log = logging.getLogger("signoff.console")
CALLBACK = "/console/callback"


def oidc_config(settings: Settings) -> OidcConfig:
    """The issuer's client settings; raises ValueError saying what is missing."""
    issuer = settings.signoff_console_oidc_issuer or ""
    client_id = (settings.signoff_console_oidc_client_id or "").strip()
    secret = settings.signoff_console_oidc_client_secret
    if not client_id or secret is None or not secret.get_secret_value().strip():
        raise ValueError(
            "SIGNOFF_CONSOLE_OIDC_ISSUER is set without SIGNOFF_CONSOLE_OIDC_CLIENT_ID and "
            "SIGNOFF_CONSOLE_OIDC_CLIENT_SECRET (the console's registration at the issuer)"
        )
    base = (settings.signoff_public_url or "").rstrip("/")
    if not base:
        if not is_loopback(settings.host):
            raise ValueError(
                "sign-in needs SIGNOFF_PUBLIC_URL, the address people reach the console at, "
                f"to tell the issuer where to send them back ({CALLBACK} under it)"
            )
        base = f"http://{settings.host}:{settings.port}"
    if settings.signoff_console_oidc_bind == "entra" and not _tenant(settings):
        raise ValueError(
            "Entra ID sign-in needs the tenant it trusts: set SIGNOFF_CONSOLE_OIDC_TENANT "
            "(or MICROSOFT_APP_TENANT_ID)"
        )
    return OidcConfig(issuer, client_id, secret.get_secret_value(), base + CALLBACK)


def _tenant(settings: Settings) -> str | None:
    return settings.signoff_console_oidc_tenant or settings.microsoft_app_tenant_id


class SignIn:
    """The two routes of a sign-in, over one HTTP session to the issuer."""

    def __init__(self, site: ConsoleBase, settings: Settings) -> None:
        self.site = site
        self.client = OidcClient(oidc_config(settings))
        self.bind = settings.signoff_console_oidc_bind
        self.tenant = _tenant(settings)
        self.http: aiohttp.ClientSession | None = None

    async def running(self, _: web.Application) -> AsyncIterator[None]:
        self.http = aiohttp.ClientSession()
        yield
        await self.http.close()

    async def start(self, request: web.Request) -> web.Response:
        assert self.http is not None
        viewer = self.site.viewer(request)
        try:
            url, login = await self.client.begin(self.http)
        except SignInFailed as error:
            return await self._failed(request, str(error))
        response = web.Response(status=302, headers={"Location": url})
        self.site.codec.write(response, replace(viewer.session, login=login))
        return response

    async def callback(self, request: web.Request) -> web.Response:
        assert self.http is not None
        viewer = self.site.viewer(request)
        try:
            claims = await self.client.finish(self.http, dict(request.query), viewer.session.login)
        except SignInFailed as error:
            log.warning("console sign-in refused: %s", error)
            return await self._failed(request, str(error))
        person, account, why = person_signed_in(self.site.policy, claims, self.bind, self.tenant)
        if person is None:
            log.warning("console sign-in of %s bound to nobody: %s", account, why)
            return await self._failed(request, why)
        log.info("console: %s signed in as %s", account, person)
        name = self.site.policy.people[person].name
        session = replace(
            self.site.codec.new(self.site.now()),
            person=person,
            account=account,
            flash=f"Signed in as {name}.",
        )
        return self.site.redirect("/", session)

    async def _failed(self, request: web.Request, why: str) -> web.Response:
        fresh = self.site.codec.new(self.site.now())
        viewer = self.site.viewer(request)
        return await self.site.page(
            request,
            replace(viewer, session=fresh, person=None),
            "signin_failed.html",
            {"title": "Sign-in refused", "why": why},
            status=403,
        )
