"""A local OpenID issuer standing in for GitHub Actions' (or GitLab's): discovery, JWKS, RS256
ID tokens signed with keys made here, and the runner's endpoint a job asks for its token.

Served over real HTTP by aiohttp, so `signoff serve` fetches the keys as it would fetch
GitHub's. The issuer URL is where the stand-in listens, given to the server as
SIGNOFF_GITHUB_OIDC_ISSUER (or SIGNOFF_GITLAB_OIDC_ISSUER).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import RSAKey

RUNNER_TOKEN = "runner-request-token"
KIDS = itertools.count(1)


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": f"key-{next(KIDS)}", "use": "sig"})


def github_claims(**more: Any) -> dict[str, Any]:
    """What GitHub puts in a deployment job's ID token (docs.github.com, "About security
    hardening with OpenID Connect"), for acme/support-bot's production environment."""
    return {
        "sub": "repo:acme/support-bot:environment:production",
        "repository": "acme/support-bot",
        "repository_owner": "acme",
        "environment": "production",
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "sha": "f" * 40,
        "actor": "mina-park",
        "run_id": "4242",
        "run_attempt": "1",
        "job_workflow_ref": "acme/support-bot/.github/workflows/deploy.yml@refs/heads/main",
        "event_name": "push",
        **more,
    }


def gitlab_claims(**more: Any) -> dict[str, Any]:
    """What GitLab puts in a job's `id_tokens:` token (docs.gitlab.com, "OpenID Connect
    (OIDC) Authentication Using ID Tokens")."""
    return {
        "sub": "project_path:acme/ml/credit-scoring:ref_type:branch:ref:main",
        "namespace_path": "acme/ml",
        "project_path": "acme/ml/credit-scoring",
        "user_login": "jkim",
        "user_email": "jae@acme.example",
        "pipeline_id": "777",
        "job_id": "9001",
        "ref": "main",
        "ref_type": "branch",
        "environment": "production",
        **more,
    }


@dataclass
class OidcIssuer:
    """The issuer's keys, the tokens it signs and what it was asked."""

    issuer: str = ""
    signing: RSAKey = field(default_factory=new_key)
    published: list[RSAKey] = field(default_factory=list)
    runner_claims: dict[str, Any] = field(default_factory=github_claims)
    key_fetches: int = 0
    audiences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.published.append(self.signing)

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: RSAKey | None = None,
        audience: str | None = None,
        lifetime: int = 300,
        issued: float | None = None,
        alg: str = "RS256",
    ) -> str:
        """An ID token of `claims` with iss, aud, iat, nbf and exp filled in unless given."""
        now = int(time.time() if issued is None else issued)
        payload = {"iss": self.issuer, "iat": now, "nbf": now, "exp": now + lifetime}
        if audience is not None:
            payload["aud"] = audience
        payload.update(claims)
        signer = key or self.signing
        header = {"alg": alg, "kid": signer.kid, "typ": "JWT"}
        return jwt.encode(header, payload, signer, algorithms=[alg])

    def rotate(self) -> RSAKey:
        """A new signing key, published beside the old one, as issuers roll keys."""
        self.signing = new_key()
        self.published.append(self.signing)
        return self.signing

    def app(self) -> web.Application:
        async def discovery(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.issuer}/.well-known/jwks",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks(request: web.Request) -> web.Response:
            self.key_fetches += 1
            return web.json_response({"keys": [k.as_dict(private=False) for k in self.published]})

        async def runner_token(request: web.Request) -> web.Response:
            # The runner's endpoint: ACTIONS_ID_TOKEN_REQUEST_URL, with the request token.
            if request.headers.get("Authorization") != f"Bearer {RUNNER_TOKEN}":
                return web.json_response({"message": "bad request token"}, status=401)
            audience = request.query.get("audience", "")
            self.audiences.append(audience)
            return web.json_response({"value": self.sign(self.runner_claims, audience=audience)})

        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", discovery)
        app.router.add_get("/.well-known/jwks", jwks)
        app.router.add_get("/_github/token", runner_token)
        return app


@contextlib.asynccontextmanager
async def oidc_issuer(**claims: Any) -> AsyncIterator[OidcIssuer]:
    """An issuer listening on a free port; its URL is its `issuer`."""
    standin = OidcIssuer()
    standin.runner_claims.update(claims)
    async with TestServer(standin.app()) as server:
        standin.issuer = str(server.make_url("")).rstrip("/")
        yield standin
