"""A real `signoff serve` that trusts two local OpenID issuers (a GitHub and a GitLab), with
Slack's stand-in beside it and the policy of `oidc_policy.yaml`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.api_process import ApiClient, ApiWorld
from tests.oidc_standin import OidcIssuer, gitlab_claims, oidc_issuer
from tests.serve_process import _env, signoff, start_server
from tests.slack_process import SECRET, Slack
from tests.slack_standin import SlackStandIn

OIDC_POLICY = Path(__file__).parent / "oidc_policy.yaml"
# Signoff's public URL, as a proxy in front of it would have it: the audience of ID tokens.
AUDIENCE = "https://signoff.acme.example"


@dataclass
class OidcWorld:
    api: ApiWorld
    github: OidcIssuer
    gitlab: OidcIssuer

    def token(self, name: str) -> str:
        """A static client token from `signoff clients issue` under this world's policy."""
        return self.api.token(name)

    def client(self, bearer: str) -> ApiClient:
        return self.api.client(bearer)

    def github_token(self, claims: dict[str, Any], **options: Any) -> str:
        return self.github.sign(claims, **{"audience": AUDIENCE, **options})

    def gitlab_token(self, **claims: Any) -> str:
        return self.gitlab.sign(gitlab_claims(**claims), audience=AUDIENCE)


@contextlib.asynccontextmanager
async def oidc_world(tmp_path: Path, **env: str) -> AsyncIterator[OidcWorld]:
    standin = SlackStandIn()
    async with (
        oidc_issuer() as github,
        oidc_issuer() as gitlab,
        TestServer(standin.app()) as slack_api,
    ):
        assert signoff(tmp_path, "db", "upgrade", **env).returncode == 0
        settings = _env(
            tmp_path,
            SIGNOFF_POLICY=str(OIDC_POLICY),
            SLACK_BOT_TOKEN="xoxb-serve",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(slack_api.make_url("/api/")),
            SIGNOFF_PUBLIC_URL=AUDIENCE,
            SIGNOFF_GITHUB_OIDC_ISSUER=github.issuer,
            SIGNOFF_GITLAB_OIDC_ISSUER=gitlab.issuer,
            **env,
        )
        server = await start_server(tmp_path, "serve", settings)
        try:
            async with aiohttp.ClientSession() as http:
                slack = Slack(http, server.base)
                world = ApiWorld(tmp_path, server, standin, slack, http, settings, [server])
                yield OidcWorld(world, github, gitlab)
        finally:
            await server.stop()
