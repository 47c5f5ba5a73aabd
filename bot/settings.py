"""Configuration from the environment (pydantic-settings); read once, in `bot.cli`.

Imports no adapters. Names are the variables in the README's table; secrets are `SecretStr` so
they never print.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.storage.database import normalise_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./signoff.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_DATABASE_URL
    signoff_policy: Path | None = Field(default=None, description="default: the bundled example")
    host: str = Field(
        default="127.0.0.1", description="address to listen on; containers set 0.0.0.0"
    )
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line"
    )
    signoff_requests_per_hour: int = Field(
        default=30, ge=1, le=10_000, description="requests one person may open in an hour"
    )
    signoff_fault_at: str | None = Field(
        default=None, description="fault drills only: the crash point where the process dies"
    )
    signoff_outbox_lease_seconds: float = Field(
        default=60, gt=0, le=3600, description="how long a claimed message waits before retry"
    )
    signoff_pace_seconds: float = Field(
        default=1.0, ge=0, le=60, description="least time between two messages to one chat"
    )
    signoff_allow_private_callbacks: bool = Field(
        default=False,
        description="let API callbacks go to private, loopback and link-local addresses",
    )
    signoff_sweep_seconds: float = Field(
        default=60, gt=0, le=3600, description="how often reminders, expiries and reviews run"
    )
    signoff_tsa_urls: str = Field(
        default="", description="comma-separated RFC 3161 time-stamping authorities (anchors)"
    )
    signoff_tsa_roots: Path | None = Field(
        default=None, description="PEM file of the roots the authorities' tokens must chain to"
    )
    signoff_anchor_every: int = Field(
        default=1000, ge=1, description="anchor the ledger head after this many entries"
    )
    signoff_anchor_seconds: float = Field(
        default=3600, gt=0, description="anchor the ledger head at least this often"
    )
    signoff_anchor_channel: str | None = Field(
        default=None, description="policy channel that receives each anchor (seq, hash, time)"
    )
    signoff_anchor_copy: Path | None = Field(
        default=None, description="file each anchor is appended to, or directory it is put in"
    )

    @property
    def tsa_urls(self) -> tuple[str, ...]:
        return tuple(u.strip() for u in self.signoff_tsa_urls.split(",") if u.strip())

    @model_validator(mode="after")
    def _anchors_have_roots(self) -> Settings:
        if self.tsa_urls and self.signoff_tsa_roots is None:
            raise ValueError(
                "SIGNOFF_TSA_URLS is set without SIGNOFF_TSA_ROOTS: give the PEM file of the "
                "roots the time-stamping authorities' tokens must chain to"
            )
        return self

    signoff_public_url: str | None = Field(
        default=None,
        description="where people and machines reach Signoff, e.g. https://signoff.acme.example; "
        "the audience API v1 requires of GitHub and GitLab ID tokens",
    )
    signoff_github_oidc_issuer: str = Field(
        default="https://token.actions.githubusercontent.com",
        description="the issuer of GitHub Actions ID tokens (GitHub Enterprise Server: its own)",
    )
    signoff_gitlab_oidc_issuer: str = Field(
        default="https://gitlab.com",
        description="the issuer of GitLab CI ID tokens (self-managed: its URL)",
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_previous_signing_secret: SecretStr | None = Field(
        default=None, description="accepted beside the current one while a rotation overlaps"
    )
    slack_previous_signing_secret_until: datetime | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    teams_openid_metadata_url: str = (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    graph_api_url: str = "https://graph.microsoft.com/v1.0/"
    # Sovereign clouds (US Government, China) have their own authority and Bot Framework scope.
    microsoft_authority_host: str = "https://login.microsoftonline.com"
    microsoft_bot_scope: str = "https://api.botframework.com/.default"

    # The GitHub deployment gate (a GitHub App); see `bot.platforms.github`.
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = Field(default=None, description="PEM text")
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"

    # The console (README, "Console"): local mode on loopback, else a sign-in.
    signoff_console: Literal["auto", "local", "off"] = Field(
        default="auto", description="local: refuse to start unless HOST is loopback"
    )
    signoff_console_secret: SecretStr | None = Field(
        default=None, description="signs console sessions; required with a sign-in"
    )
    signoff_console_session_hours: float = Field(default=8, gt=0, le=24 * 30)
    signoff_console_oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect issuer URL"
    )
    signoff_console_oidc_client_id: str | None = None
    signoff_console_oidc_client_secret: SecretStr | None = None
    signoff_console_oidc_bind: Literal["entra", "slack"] = Field(
        default="entra", description="entra: oid+tid to a person's teams id; slack: user id"
    )
    signoff_console_oidc_tenant: str | None = Field(
        default=None, description="entra: the tid accepted (default MICROSOFT_APP_TENANT_ID)"
    )
    signoff_console_proxy_header: str | None = Field(
        default=None,
        description="a trusted proxy's header naming the person (policy id or email)",
    )

    @property
    def database(self) -> str:
        return normalise_url(self.database_url)

    @staticmethod
    def _given(secret: SecretStr | None) -> bool:
        return bool(secret and secret.get_secret_value().strip())

    @property
    def slack_over_http(self) -> bool:
        """Slack posts to /slack/events, signed with SLACK_SIGNING_SECRET."""
        return self._given(self.slack_bot_token) and self._given(self.slack_signing_secret)

    @property
    def slack_socket_mode(self) -> bool:
        """Slack events arrive over a WebSocket the app opens with SLACK_APP_TOKEN."""
        return self._given(self.slack_bot_token) and self._given(self.slack_app_token)

    def slack_problem(self) -> str | None:
        """Why `serve` must not start with these Slack settings (SIG-15), or None."""
        if not self._given(self.slack_bot_token) or self.slack_configured:
            return None
        if self.slack_signing_secret is not None:
            return "SLACK_SIGNING_SECRET is empty or blank; Slack requests could not be verified"
        return (
            "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (for POST /slack/events) "
            "nor SLACK_APP_TOKEN (for Socket Mode) is"
        )

    @property
    def slack_configured(self) -> bool:
        return self.slack_over_http or self.slack_socket_mode

    @model_validator(mode="after")
    def _rotation_has_an_end(self) -> Settings:
        previous = self.slack_previous_signing_secret
        if previous is not None and previous.get_secret_value().strip():
            if self.slack_previous_signing_secret_until is None:
                raise ValueError(
                    "SLACK_PREVIOUS_SIGNING_SECRET is set without "
                    "SLACK_PREVIOUS_SIGNING_SECRET_UNTIL: say until when the old secret is "
                    "accepted (RFC 3339, for example 2026-12-01T00:00:00Z)"
                )
            if self.slack_previous_signing_secret_until.tzinfo is None:
                raise ValueError(
                    "SLACK_PREVIOUS_SIGNING_SECRET_UNTIL needs a time zone (end it with Z)"
                )
        return self

    anonymous_allowed: bool = Field(
        default=False, description="never honoured: Signoff refuses to start when it is true"
    )

    @property
    def teams_configured(self) -> bool:
        return bool(
            self.microsoft_app_id
            and self.microsoft_app_id.strip()
            and self._given(self.microsoft_app_password)
        )

    def teams_problem(self) -> str | None:
        """Why `serve` must not start with these Teams settings (TEAMS-15), or None."""
        if self.anonymous_allowed:
            return (
                "ANONYMOUS_ALLOWED is true; Signoff never accepts unauthenticated Teams "
                "requests. Unset it and set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD"
            )
        given = [
            name
            for name, value in (
                ("MICROSOFT_APP_ID", self.microsoft_app_id),
                ("MICROSOFT_APP_PASSWORD", self.microsoft_app_password),
                ("MICROSOFT_APP_TENANT_ID", self.microsoft_app_tenant_id),
            )
            if value is not None
        ]
        if not given:
            return None
        if not self.teams_configured:
            return (
                "Teams is half configured: MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD must "
                "both be set and not blank"
            )
        if not (self.microsoft_app_tenant_id or "").strip():
            return (
                "MICROSOFT_APP_TENANT_ID is not set; Signoff is a single-tenant bot and accepts "
                "Teams requests only from its own tenant"
            )
        return None

    def platform_report(self) -> list[str]:
        """One line per platform: enabled, or what to set to enable it."""
        ways = [
            *(["POST /slack/events"] if self.slack_over_http else []),
            *(["Socket Mode"] if self.slack_socket_mode else []),
        ]
        slack = (
            f"Slack: enabled over {' and '.join(ways)} (/signoff request, deploy, cancel, raci, "
            "status, help; Approve, Reject and consultation buttons)"
            if ways
            else "Slack: disabled; set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or "
            "SLACK_APP_TOKEN for Socket Mode) to enable it"
        )
        teams = (
            "Teams: enabled on POST /api/messages (request, deploy, cancel, raci, status, help "
            "by message; Adaptive Card approvals)"
            if self.teams_configured
            else "Teams: disabled; set MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD "
            "(and MICROSOFT_APP_TENANT_ID) to enable it"
        )
        return [slack, teams]
