"""A local stand-in for the parts of GitHub's REST API the deployment gate uses.

It holds a GitHub App's key pair and checks what GitHub checks: the App JWT that asks for an
installation token is verified with the App's public key (RS256, issued by the App id, at
most ten minutes long); a review POSTed to a run's deployment_protection_rule URL must carry
an installation token it issued, still valid and not revoked. Every review is recorded with
what it was answered, and answers can be scripted (a 502, then the usual 204). Served over
HTTPS with a local authority's certificate, as the outbound sender posts only over HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.github.signature import sign

APP_ID = "424242"
INSTALLATION = 7001
WEBHOOK_SECRET = "gate-webhook-secret"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class Review:
    """One POST to a run's deployment_protection_rule URL and how it was answered."""

    repository: str
    run_id: str
    body: dict[str, Any]
    installation: int | None  # whose token it carried; None when the token was not valid
    status: int
    token: str = ""  # the bearer it carried


@dataclass
class GitHubStandIn:
    app_id: str = APP_ID
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    base_url: str = ""
    token_lifetime: float = 3600.0  # GitHub's installation tokens live an hour
    tokens: dict[str, tuple[int, float]] = field(default_factory=dict)  # token: (inst, ends)
    token_requests: list[int] = field(default_factory=list)  # installations, as asked
    refused_jwts: list[str] = field(default_factory=list)  # why each refused JWT was
    reviews: list[Review] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    _answers: deque[int] = field(default_factory=deque)

    @property
    def private_pem(self) -> str:
        return _pem(self.key)

    def answer_reviews(self, *statuses: int) -> None:
        """The next reviews are answered with these statuses, in order; then 204."""
        self._answers.extend(statuses)

    def revoke(self, *tokens: str) -> None:
        """These tokens (every token issued so far when none is named) are answered 401 from
        now on, as GitHub answers a revoked installation token."""
        self.revoked.update(tokens or self.tokens)

    def verdicts(self) -> list[Review]:
        """The reviews that carried a verdict (approved or rejected), not only a comment."""
        return [r for r in self.reviews if "state" in r.body]

    def callback_url(self, repository: str, run_id: str) -> str:
        return (
            f"{self.base_url}/repos/{repository}/actions/runs/{run_id}/deployment_protection_rule"
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/app/installations/{id}/access_tokens", self._access_token)
        app.router.add_post(
            "/repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule", self._review
        )
        return app

    def _bearer(self, request: web.Request) -> str:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return value if scheme == "Bearer" else ""

    async def _access_token(self, request: web.Request) -> web.Response:
        installation = int(request.match_info["id"])
        try:
            claims = jwt.decode(
                self._bearer(request),
                self.key.public_key(),
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
                issuer=self.app_id,
            )
        except jwt.PyJWTError as error:
            self.refused_jwts.append(str(error))
            return web.json_response(
                {"message": "A JSON web token could not be decoded"}, status=401
            )
        if claims["exp"] - claims["iat"] > 660:
            self.refused_jwts.append("lives longer than ten minutes")
            return web.json_response({"message": "'Expiration time' claim is too far"}, status=401)
        self.token_requests.append(installation)
        token = "ghs_" + secrets.token_urlsafe(24)
        ends = time.time() + self.token_lifetime
        self.tokens[token] = (installation, ends)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ends))
        return web.json_response({"token": token, "expires_at": stamp}, status=201)

    async def _review(self, request: web.Request) -> web.Response:
        info = request.match_info
        bearer = self._bearer(request)
        held = self.tokens.get(bearer)
        valid = held is not None and held[1] > time.time() and bearer not in self.revoked
        body = await request.json()
        status = 401 if not valid else (self._answers.popleft() if self._answers else 204)
        self.reviews.append(
            Review(
                f"{info['owner']}/{info['repo']}",
                info["run"],
                body,
                held[0] if valid and held is not None else None,
                status,
                bearer,
            )
        )
        if status == 204:
            return web.Response(status=204)
        return web.json_response({"message": f"answered {status}"}, status=status)


@dataclass(frozen=True)
class Served:
    standin: GitHubStandIn
    authority_file: Path
    client_tls: ssl.SSLContext


@contextlib.asynccontextmanager
async def serve_github(folder: Path) -> AsyncIterator[Served]:
    """The stand-in on loopback HTTPS; with the authority's file and a context trusting it."""
    standin = GitHubStandIn()
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    trusted = folder / "github-ca.pem"
    authority.cert_pem.write_to_path(str(trusted))
    client = ssl.create_default_context()
    authority.configure_trust(client)
    server = TestServer(standin.app())
    await server.start_server(ssl=context)
    standin.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield Served(standin, trusted, client)
    finally:
        await server.close()


def deployment_event(
    callback_url: str,
    *,
    repository: str = "acme/credit-scoring",
    environment: str = "production",
    sender: str = "soo-han",
    deployment_id: int = 1,
    sha: str = "9f2c4e1d" * 5,
) -> dict[str, Any]:
    """A `deployment_protection_rule` `requested` payload, as GitHub sends it."""
    owner = repository.split("/")[0]
    return {
        "action": "requested",
        "environment": environment,
        "event": "push",
        "sha": sha,
        "ref": "refs/heads/main",
        "deployment_callback_url": callback_url,
        "deployment": {"id": deployment_id, "environment": environment, "sha": sha},
        "repository": {"full_name": repository, "name": repository.split("/")[1]},
        "organization": {"login": owner},
        "installation": {"id": INSTALLATION},
        "sender": {"login": sender, "type": "User"},
    }


def signed_delivery(
    payload: dict[str, Any] | bytes,
    secret: str = WEBHOOK_SECRET,
    event: str = "deployment_protection_rule",
    delivery: str = "d-1",
) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitHub sends for `payload`."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(secret.encode(), body),
    }
    return body, headers
