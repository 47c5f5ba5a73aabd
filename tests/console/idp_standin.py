"""A local OpenID Connect provider for the console's sign-in tests, over real HTTP: discovery,
an authorization endpoint that signs in whichever account the test chose, a token endpoint
that checks the client, the redirect URI and the PKCE verifier, and its RSA keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "signoff-console"
CLIENT_SECRET = "console-client-secret-for-tests"
TENANT = "9c1f3a52-0000-4000-8000-00000000c0de"


@dataclass
class Grant:
    challenge: str
    nonce: str
    redirect_uri: str
    claims: dict[str, Any]


@dataclass
class IdentityProvider:
    """Who signs in next (`account`), and what the test may make it do wrong."""

    account: dict[str, Any] = field(default_factory=dict)
    wrong_nonce: bool = False
    base: str = ""
    authorizations: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._metadata)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/keys", self._keys)
        return app

    async def _metadata(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.base,
                "authorization_endpoint": f"{self.base}/authorize",
                "token_endpoint": f"{self.base}/token",
                "jwks_uri": f"{self.base}/keys",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, _: web.Request) -> web.Response:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return web.json_response({"keys": [{**public, "kid": self.kid, "use": "sig"}]})

    async def _authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorizations.append(query)
        needed = ("response_type", "client_id", "redirect_uri", "state", "nonce",
                  "code_challenge", "code_challenge_method")  # fmt: skip
        if any(not query.get(name) for name in needed) or query["client_id"] != CLIENT_ID:
            return web.Response(status=400, text="incomplete authorization request")
        if query["code_challenge_method"] != "S256" or query["response_type"] != "code":
            return web.Response(status=400, text="only the code flow with S256")
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            query["code_challenge"], query["nonce"], query["redirect_uri"], dict(self.account)
        )
        target = f"{query['redirect_uri']}?code={code}&state={query['state']}"
        return web.Response(status=302, headers={"Location": target})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        grant = self.grants.pop(str(form.get("code", "")), None)  # a code is good once
        if grant is None:
            return self._refuse("invalid_grant: unknown or used code")
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return self._refuse("invalid_client")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._refuse("invalid_grant: redirect_uri differs")
        verifier = str(form.get("code_verifier", "")).encode()
        digest = hashlib.sha256(verifier).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
            return self._refuse("invalid_grant: PKCE verifier does not match")
        now = int(time.time())
        claims = {
            "iss": self.base,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": "not-the-one" if self.wrong_nonce else grant.nonce,
            "sub": secrets.token_hex(8),
            **grant.claims,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return web.json_response({"access_token": "x", "token_type": "Bearer", "id_token": token})

    def _refuse(self, why: str) -> web.Response:
        self.refusals.append(why)
        return web.json_response({"error": why}, status=400)


async def start_idp(provider: IdentityProvider) -> web.AppRunner:
    """Serve `provider` on a free loopback port; sets its `base`."""
    runner = web.AppRunner(provider.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    provider.base = f"http://127.0.0.1:{port}"
    return runner
