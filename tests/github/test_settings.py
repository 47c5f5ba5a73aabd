"""What `serve` says of the GitHub App's settings before it starts."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.platforms.github import github_configured, github_problem
from bot.settings import Settings
from tests.github_standin import GitHubStandIn


def _settings(**given: str) -> Settings:
    return Settings(**given)  # type: ignore[arg-type]


def test_the_gate_is_off_unset_and_refused_half_set_or_with_a_wrong_key() -> None:
    assert github_problem(_settings()) is None and not github_configured(_settings())
    half = github_problem(_settings(github_app_id="42", github_webhook_secret="s"))
    assert half is not None and "GITHUB_APP_PRIVATE_KEY not set" in half
    blank = github_problem(
        _settings(github_app_id="42", github_app_private_key=" ", github_webhook_secret="s")
    )
    assert blank is not None and "half configured" in blank
    garbage = github_problem(
        _settings(github_app_id="42", github_app_private_key="nope", github_webhook_secret="s")
    )
    assert garbage is not None and "not a PEM private key" in garbage
    curve = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    elliptic = github_problem(
        _settings(
            github_app_id="42", github_app_private_key=curve.decode(), github_webhook_secret="s"
        )
    )
    assert elliptic is not None and "not an RSA key" in elliptic

    pem = GitHubStandIn().private_pem.replace("\n", "\\n")  # as an environment carries it
    good = _settings(github_app_id="42", github_app_private_key=pem, github_webhook_secret="s")
    assert github_problem(good) is None and github_configured(good)
    wrong_url = _settings(
        github_app_id="42",
        github_app_private_key=pem,
        github_webhook_secret="s",
        github_api_url="api.github.com",
    )
    assert "GITHUB_API_URL" in (github_problem(wrong_url) or "")
