"""Microsoft unavailable: when Entra ID will not give the bot a token, or the Bot Connector
fails while an activity is handled, Teams gets a 503 (it delivers the activity again), the log
one line without a traceback, and nothing is recorded; the redelivery is then handled.

The bot's tokens come through MSAL from the Entra ID stand-in over HTTPS, as in production.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.entra import EntraTokens
from tests.entra_standin import SECRET, EntraStandIn, token_for
from tests.teams_standin import APP_ID, TENANT
from tests.teams_world import TeamsWorld, entra_tokens, open_teams_world, teams_policy

DEPLOY = "deploy doc-search 4.0"


@pytest.fixture
async def teams(engine: AsyncEngine, entra: EntraStandIn) -> AsyncIterator[TeamsWorld]:
    async with open_teams_world(engine, bot_tokens=entra_tokens(entra)) as world:
        yield world


def logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """One line of ours says what happened; no record anywhere carries a traceback, and the
    HTTP server logged no error (as it does for a handler that raised)."""
    ours = [r for r in caplog.records if r.name.startswith("signoff")]
    problems = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert problems[0].name == "signoff.teams" and "503" in problems[0].getMessage()
    assert all(r.exc_info is None and not r.stack_info for r in caplog.records)
    assert not [r for r in caplog.records if r.name.startswith("aiohttp") and r.levelno >= 30]


async def unavailable_then_handled(
    teams: TeamsWorld, caplog: pytest.LogCaptureFixture, recover: object
) -> None:
    """The message is refused with a 503 and one log line; once `recover()`, its redelivery
    opens the request."""
    activity = teams.activity("soo", text=DEPLOY)
    with caplog.at_level(logging.INFO):
        response = await teams.send(activity)
        assert response.status == 503
        assert await response.json() == {"error": "temporarily unavailable"}
    assert await teams.h.ledger() == []
    assert teams.connector.posts() == [] and teams.connector.replies(teams.personal("soo")) == []
    logged_once(caplog)

    assert callable(recover)
    recover()
    response = await teams.send(activity)
    assert response.status in (200, 201, 202), await response.text()
    assert [e.action for e in await teams.h.ledger()] == ["requested"]
    (reply,) = teams.connector.replies(teams.personal("soo"))
    assert reply.startswith("Request R")


@pytest.mark.parametrize("failure", ["error 500", "error 503", "refused secret"])
async def test_teams_answers_503_while_entra_id_gives_the_bot_no_token(
    teams: TeamsWorld, entra: EntraStandIn, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    secret = entra.secret
    if failure.startswith("error"):
        entra.failing = int(failure.split()[1])
    else:
        entra.secret = "rotated-without-telling-signoff"

    def recover() -> None:
        entra.failing, entra.secret = None, secret

    await unavailable_then_handled(teams, caplog, recover)
    # The reply went with the token Entra ID issued for the Bot Framework's scope.
    bearer = f"Bearer {token_for('https://api.botframework.com/.default')}"
    assert {c.authorization for c in teams.connector.calls} == {bearer}


async def test_teams_answers_503_while_entra_id_cannot_be_reached(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = EntraTokens(APP_ID, TENANT, SECRET, "https://127.0.0.1:9", timeout=1.0)
    async with open_teams_world(engine, bot_tokens=nowhere) as teams:
        with caplog.at_level(logging.INFO):
            response = await teams.send(teams.activity("soo", text=DEPLOY))
        assert response.status == 503
        assert await teams.h.ledger() == [] and teams.connector.calls == []
        logged_once(caplog)


def found_by_email(raw: dict[str, object]) -> None:
    """Soo has no `teams:` id: Signoff asks Teams for her email to know who she is."""
    teams_policy(raw)
    people = raw["people"]
    assert isinstance(people, dict)
    del people["soo"]["teams"]


@pytest.mark.parametrize("status", [500, 502, 429, 401])
async def test_teams_answers_503_while_the_connector_fails_to_say_who_wrote(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    async with open_teams_world(engine, found_by_email) as teams:
        teams.connector.script("GET", status, path="/members/")
        await unavailable_then_handled(teams, caplog, lambda: None)
        looked_up = [c.path for c in teams.connector.calls if c.method == "GET"]
        assert len(looked_up) == 2 and looked_up[0] == looked_up[1]


async def test_a_member_teams_does_not_know_is_a_stranger_not_an_outage(
    engine: AsyncEngine,
) -> None:
    async with open_teams_world(engine, found_by_email) as teams:
        teams.connector.emails.pop("29:soo")
        assert await teams.say("soo", DEPLOY)  # answered, not a 503
        # Whatever was recorded was recorded for someone the policy does not know.
        assert all(e.actor_person is None for e in await teams.h.ledger())
