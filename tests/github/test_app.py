"""The GitHub App client against GitHub's stand-in over HTTPS: its JWT and its tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.github.app import GitHubApp
from adapters.port import PermanentFailure
from tests.github_standin import APP_ID, INSTALLATION, GitHubStandIn, serve_github


async def test_tokens_are_kept_until_near_their_end_and_a_wrong_key_is_refused(
    tmp_path: Path,
) -> None:
    async with serve_github(tmp_path) as served:
        github = served.standin
        apps = [
            GitHubApp(APP_ID, pem, github.base_url, tls=served.client_tls)
            for pem in (github.private_pem, github.private_pem, GitHubStandIn().private_pem)
        ]
        kept, short_lived, impostor = apps
        try:
            first = await kept.installation_token(INSTALLATION)
            assert first.startswith("ghs_")
            assert await kept.installation_token(INSTALLATION) == first
            assert github.token_requests == [INSTALLATION]

            # A token with less than five minutes left is replaced before it is used.
            github.token_lifetime = 200
            short = await short_lived.installation_token(INSTALLATION)
            assert await short_lived.installation_token(INSTALLATION) != short
            assert len(github.token_requests) == 3

            # A JWT signed by another key than the App's is refused.
            with pytest.raises(PermanentFailure, match="HTTP 401"):
                await impostor.installation_token(INSTALLATION)
            assert github.refused_jwts == ["Signature verification failed"]
        finally:
            for app in apps:
                await app.close()
