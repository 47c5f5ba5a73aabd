"""A named activity end to end through Teams: RS256-signed activities in, the Bot Connector
stand-in out. `data-access` on credit-scoring has a RACI of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.activity_policy import with_data_access
from tests.teams_world import AAD, TeamsWorld, open_teams_world, teams_policy
from workflows.model import Status


def _data_access_on_teams(raw: dict[str, Any]) -> None:
    with_data_access(raw)
    teams_policy(raw)


@pytest.fixture
async def teams(engine: AsyncEngine) -> AsyncIterator[TeamsWorld]:
    async with open_teams_world(engine, _data_access_on_teams) as world:
        yield world


def texts(card: dict[str, Any]) -> str:
    return "\n".join(
        run["text"]
        for block in card["body"]
        if block["type"] == "RichTextBlock"
        for run in block["inlines"]
    )


def note_of(body: dict[str, Any]) -> str:
    """The line shown only to the person who pressed: the card's second block."""
    return str(body["value"]["body"][1]["inlines"][0]["text"])


async def _ask(teams: TeamsWorld, text: str = "request data-access credit-scoring") -> str:
    replies = await teams.say("dan", f"{text} -- fraud study")
    assert len(replies) == 1 and "for data access to credit-scoring is open" in replies[0]
    assert "asked Ines Faro and Ada Chief to approve (1 needed)" in replies[0]
    await teams.h.settle()
    return replies[0].split()[1]


async def test_data_access_reaches_its_own_raci_decides_on_its_quorum_and_is_audited(
    teams: TeamsWorld,
) -> None:
    request_id = await _ask(teams)
    # Its Accountable and Consulted get cards, its Informed is told: not deploy's people.
    reached = {call.body["members"][0]["id"] for call in teams.connector.created()}
    assert reached == {AAD[p] for p in ("ines", "cdao", "soo", "jae")}
    ines_card = teams.card_in(teams.chat_of("ines"))
    content = ines_card.body["attachments"][0]["content"]
    assert f"Request {request_id} for data access to credit-scoring" in texts(content)
    assert [a["title"] for a in content["actions"]] == ["Approve", "Reject"]

    status, body = await teams.press("mina", ines_card, "signoff.approve")
    assert status == 200
    assert note_of(body).startswith("Only the Accountable for data access to credit-scoring")
    status, body = await teams.press(
        "soo", teams.card_in(teams.chat_of("soo")), "signoff.no-objection"
    )
    assert status == 200
    status, body = await teams.press("ines", ines_card, "signoff.approve")
    assert status == 200 and "approved by Ines Faro" in texts(body["value"])
    await teams.h.settle()
    assert (await teams.h.state(request_id)).status is Status.APPROVED
    told = [c.body.get("text", "") for c in teams.connector.posts(teams.personal("dan"))]
    assert any("approved by Ines Faro" in t for t in told)
    ledger = [e for e in await teams.h.ledger() if e.subject_id == request_id]
    assert [e.action for e in ledger] == ["requested", "denied", "consulted", "approved"]
    assert {e.data["activity"] for e in ledger} == {"data-access"}
    assert await teams.h.chain_ok()


async def test_data_access_expires_on_its_own_rule(teams: TeamsWorld) -> None:
    request_id = await _ask(teams)
    teams.h.clock.advance(hours=23, minutes=59)
    assert (await teams.h.tick(request_id)).code != "expired"
    teams.h.clock.advance(minutes=1)
    assert (await teams.h.tick(request_id)).code == "expired"
    status, body = await teams.press(
        "ines", teams.card_in(teams.chat_of("ines")), "signoff.approve"
    )
    assert status == 200 and "already expired" in note_of(body)
    await teams.h.settle()
    told = [c.body.get("text", "") for c in teams.connector.posts(teams.personal("dan"))]
    assert any("expired unanswered" in t and "nothing was granted" in t for t in told), told


async def test_a_deploy_responsible_who_asks_for_data_access_is_refused_and_audited(
    teams: TeamsWorld,
) -> None:
    replies = await teams.say("soo", "request data-access credit-scoring")
    assert replies == [
        "Only the Responsible for data access to credit-scoring may ask for it: "
        "security-compliance (Dan Ruiz)."
    ]
    [entry] = await teams.h.ledger()
    assert (entry.action, entry.actor_person, entry.actor_platform) == ("denied", "soo", "teams")
    assert (entry.data["reason"], entry.data["activity"]) == ("not-responsible", "data-access")
    await teams.h.settle()
    assert teams.connector.created() == []


async def test_help_names_the_systems_activities_and_an_incomplete_request_its_usage(
    teams: TeamsWorld,
) -> None:
    [helped] = await teams.say("dan", "help credit-scoring")
    assert "request data-access credit-scoring" in helped and "deploy credit-scoring" in helped
    [usage] = await teams.say("dan", "request data-access")
    assert usage.startswith("request <activity> <system> [<version>] [to <env>] [-- <reason>]")
