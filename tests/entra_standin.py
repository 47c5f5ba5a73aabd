"""A local stand-in for Microsoft Entra ID: a tenant's OpenID metadata and token endpoint.

Served over HTTPS, as MSAL insists, with a certificate from a local authority (trustme) that
the test makes MSAL trust. It issues client-credentials tokens named after the scope asked,
so the Bot Connector stand-in's record shows which cloud's scope each call carried, and it
fails as a test tells it to: an error status, or a refusal of the secret.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.teams_standin import APP_ID, TENANT

SECRET = "client-secret"


def token_for(scope: str) -> str:
    return f"entra-token for {scope}"


@dataclass
class EntraStandIn:
    tenant: str = TENANT
    client_id: str = APP_ID
    secret: str = SECRET
    failing: int | None = None  # the status every token request gets, while set
    scopes: list[str] = field(default_factory=list)  # the scope of each token issued
    requests: int = 0
    base_url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/{self.tenant}/v2.0/.well-known/openid-configuration", self._metadata)
        app.router.add_post(f"/{self.tenant}/oauth2/v2.0/token", self._token)
        return app

    async def _metadata(self, request: web.Request) -> web.Response:
        root = f"{self.base_url}/{self.tenant}"
        return web.json_response(
            {
                "issuer": f"{root}/v2.0",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "token_endpoint": f"{root}/oauth2/v2.0/token",
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        self.requests += 1
        form = await request.post()
        # `Retry-After: 0` keeps MSAL from replaying a failure to the next call.
        again = {"Retry-After": "0"}
        if self.failing is not None:
            error = {"error": "temporarily_unavailable"}
            return web.json_response(error, status=self.failing, headers=again)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.secret):
            return web.json_response({"error": "invalid_client"}, status=401, headers=again)
        scope = str(form.get("scope", ""))
        self.scopes.append(scope)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3600, "access_token": token_for(scope)}
        )


@contextlib.asynccontextmanager
async def serve_over_https(standin: EntraStandIn, folder: Path) -> AsyncIterator[Path]:
    """Serve `standin` on loopback HTTPS; yields the file of the authority that signed it."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    trusted = folder / "entra-ca.pem"
    authority.cert_pem.write_to_path(str(trusted))
    server = TestServer(standin.app())
    await server.start_server(ssl=context)
    standin.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield trusted
    finally:
        await server.close()
