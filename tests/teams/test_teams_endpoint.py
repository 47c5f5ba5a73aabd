"""TEAMS-14..16: `/api/messages` as `serve` builds it: what it refuses to start with, which
checks stand in front of the SDK, and a redelivered activity counted once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from adapters.teams.connections import BOT_FRAMEWORK_SCOPE
from adapters.teams.token_check import CHANNEL, LEEWAY_SECONDS
from bot.platforms.teams import add_teams_messages, on_turn_error, teams_config
from bot.settings import Settings
from tests.teams_standin import APP_ID
from tests.teams_world import TeamsWorld

DEPLOY = "deploy doc-search 4.0"


async def test_teams_14_a_redelivered_activity_is_handled_once(teams: TeamsWorld) -> None:
    activity = teams.activity("soo", text=DEPLOY)
    first = await teams.send(activity)
    second = await teams.send(activity)
    assert (first.status, second.status) == (202, 202) or second.status == first.status
    assert [e.action for e in await teams.h.ledger()] == ["requested"]
    assert len(teams.connector.replies(teams.personal("soo"))) == 1


async def test_teams_14_a_redelivered_card_action_counts_once(teams: TeamsWorld) -> None:
    await teams.say("soo", DEPLOY)
    await teams.h.settle()
    card = teams.card_in(teams.chat_of("mina"))
    press = teams.invoke("mina", card, "signoff.approve")
    first = await teams.send(press)
    second = await teams.send(press)
    assert (first.status, second.status) == (200, 200)
    # The redelivery is answered with the card as it is now, and records nothing.
    assert (await second.json())["value"]["actions"] == []
    assert [e.action for e in await teams.h.ledger()] == ["requested", "approved"]


def test_teams_15_anonymous_or_half_configured_teams_refuses_to_start(tmp_path: Path) -> None:
    cases = [
        {"ANONYMOUS_ALLOWED": "true"},
        {"MICROSOFT_APP_PASSWORD": "secret"},
        {"MICROSOFT_APP_ID": " ", "MICROSOFT_APP_PASSWORD": "secret"},
        {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "secret"},
    ]
    for environment in cases:
        run = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            env={
                "PATH": "/usr/bin:/bin",
                "DATABASE_URL": "sqlite+aiosqlite:///:memory:",
                **environment,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, (environment, run.stderr)
        assert "refusing to start" in run.stderr


async def test_teams_16_the_production_app_has_our_checks_in_front(teams: TeamsWorld) -> None:
    settings = Settings(
        microsoft_app_id=APP_ID,
        microsoft_app_password=SecretStr("secret"),
        microsoft_app_tenant_id="tenant-1",
    )
    config = teams_config(settings)
    app = web.Application()
    endpoint = add_teams_messages(app, config, teams.h.runtime(), teams.h.clock)
    assert endpoint.check.app_id == APP_ID
    assert set(endpoint.check.tenants) == {"tenant-1"}
    # The public cloud unless the settings say otherwise.
    assert endpoint.check.keys.metadata_url == (
        "https://login.botframework.com/v1/.well-known/openidconfiguration"
    )
    assert config.tokens.configuration.AUTHORITY == "https://login.microsoftonline.com/tenant-1"
    assert config.bot_scope == BOT_FRAMEWORK_SCOPE == "https://api.botframework.com/.default"
    assert (CHANNEL, LEEWAY_SECONDS) == ("msteams", 300)
    assert endpoint.adapter.on_turn_error is on_turn_error
    # The SDK's own serviceUrl check only logs while its host validator is off, as it is by
    # default: ours (TEAMS-08) is the one that refuses, so a change of default shows here.
    assert endpoint.adapter._host_validator.enabled is False
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/api/messages", json=teams.activity("soo", text=DEPLOY))
        assert response.status == 401
