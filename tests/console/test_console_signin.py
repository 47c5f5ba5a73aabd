"""Sign-in to the console with OpenID Connect, against a local provider over real HTTP: the
code flow with PKCE, state and nonce checked, and the account bound to a person of the
policy by an immutable id (Entra oid within its tenant, Slack user id), never by email."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms.console_mount import console_mount
from bot.server import create_app
from bot.settings import Settings
from tests.console.idp_standin import CLIENT_ID, CLIENT_SECRET, TENANT, IdentityProvider, start_idp
from tests.console.site import TOMAS_OID, Browser, console_policy, flash
from tests.harness import Harness, actor
from workflows.commands import OpenRequest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def signing_in(
    engine: AsyncEngine, bind: str = "entra", tenant: str = TENANT
) -> AsyncIterator[tuple[IdentityProvider, Browser, Harness]]:
    provider = IdentityProvider()
    runner = await start_idp(provider)
    port = _free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        signoff_console_secret="a-console-session-secret-of-40-characters",
        signoff_console_oidc_issuer=provider.base,
        signoff_console_oidc_client_id=CLIENT_ID,
        signoff_console_oidc_client_secret=CLIENT_SECRET,
        signoff_console_oidc_bind=bind,
        signoff_console_oidc_tenant=tenant,
    )
    harness = Harness(engine, policies=console_policy())
    app = create_app(harness.runtime(), (console_mount(settings, "oidc"),))
    try:
        async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
            yield provider, Browser(client), harness
    finally:
        await runner.cleanup()


async def _sign_in(browser: Browser, status: int = 200) -> str:
    async with browser.client.get("/console/sign-in") as response:
        text = await response.text()
        assert response.status == status, text[:400]
        return text


def _entra(oid: str, tid: str = TENANT, **more: Any) -> dict[str, Any]:
    return {"oid": oid, "tid": tid, **more}


async def test_an_entra_account_lands_on_its_person_through_the_code_flow_with_pkce(
    engine: AsyncEngine,
) -> None:
    async with signing_in(engine) as (provider, browser, harness):
        assert "Sign in" in await browser.get("/")
        provider.account = _entra(TOMAS_OID, email="someone-else@acme.example")
        page = await _sign_in(browser)
        assert flash(page) == ("ok", "Signed in as Tomas Berg.")
        # Acting as someone else is local mode's alone.
        async with browser.client.post(
            "/console/as", data={"csrf": await browser.csrf(), "person": "mina"}
        ) as response:
            assert response.status == 404
        [asked] = provider.authorizations
        assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
        assert asked["redirect_uri"].endswith("/console/callback")
        assert provider.refusals == []
        # Tomas acts as himself, with his account recorded beside his person.
        request_id = "RSIGNEDIN1"
        opened = await harness.service.handle(
            OpenRequest(request_id=request_id, actor=actor("jae"), system="scoring", version="1")
        )
        assert opened.ok
        await browser.answer(request_id, "approve")
        [*_, denied] = await harness.ledger()
        assert denied.actor_person == "tomas" and denied.actor_platform == "web"
        assert denied.actor_platform_user_id == f"{TENANT}/{TOMAS_OID}"
        # Signing out ends the session.
        await browser.post("/console/sign-out", {})
        # The request is no longer shown: the console sends the browser to sign in.
        assert "Sign in" in await browser.get(f"/requests/{request_id}")
        assert "RSIGNEDIN1" not in await browser.get("/")


async def test_another_tenant_an_unknown_account_or_a_forged_callback_is_refused(
    engine: AsyncEngine,
) -> None:
    async with signing_in(engine) as (provider, browser, _):
        provider.account = _entra(TOMAS_OID, tid="another-tenant")
        assert "not the one Signoff trusts" in await _sign_in(browser, 403)
        # An email is a hint for the administrator, never a binding.
        provider.account = _entra("no-such-oid", email="mina@acme.example")
        refused = await _sign_in(browser, 403)
        assert "names nobody with teams id no-such-oid" in refused
        assert "It has mina with your email" in refused
        assert "Signed in" not in refused
        # A callback this browser did not start (a forged or replayed state) is refused.
        provider.account = _entra(TOMAS_OID)
        async with browser.client.get(
            "/console/callback", params={"code": "x", "state": "forged"}, allow_redirects=False
        ) as response:
            assert response.status == 403
            assert "did not start here" in await response.text()
        assert "Sign in" in await browser.get("/")


async def test_an_id_token_for_another_sign_in_is_refused(engine: AsyncEngine) -> None:
    async with signing_in(engine) as (provider, browser, _):
        provider.account = _entra(TOMAS_OID)
        provider.wrong_nonce = True
        assert "nonce" in await _sign_in(browser, 403)


async def test_sign_in_with_slack_binds_the_slack_user_id(engine: AsyncEngine) -> None:
    async with signing_in(engine, bind="slack", tenant="T0ACME") as (provider, browser, _):
        provider.account = {
            "https://slack.com/user_id": "U0MINA",
            "https://slack.com/team_id": "T0ACME",
        }
        assert flash(await _sign_in(browser)) == ("ok", "Signed in as Mina Park.")
        provider.account = {
            "https://slack.com/user_id": "U0MINA",
            "https://slack.com/team_id": "T0OTHER",
        }
        await browser.post("/console/sign-out", {})
        assert "Slack workspace is not the one" in await _sign_in(browser, 403)


async def test_behind_a_trusted_proxy_its_header_names_the_person(engine: AsyncEngine) -> None:
    settings = Settings(
        host="127.0.0.1",
        signoff_console_secret="a-console-session-secret-of-40-characters",
        signoff_console_proxy_header="X-Forwarded-Email",
    )
    harness = Harness(engine, policies=console_policy())
    app = create_app(harness.runtime(), (console_mount(settings, "proxy"),))
    async with TestClient(TestServer(app)) as client:
        async with client.get("/", headers={"X-Forwarded-Email": "Lena@acme.example"}) as answer:
            page = await answer.text()
        assert "Lena Vogel" in page and "Audit trail" in page
        async with client.get("/ledger") as answer:
            assert "Your proxy did not say who you are" in await answer.text()
