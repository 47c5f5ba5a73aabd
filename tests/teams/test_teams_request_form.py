"""Teams' request form (issue 22): `deploy` with arguments missing answers with a card that
asks for them, as Slack opens its modal; what is sent goes through the grammar and the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.request_form import ASK_VERB
from tests.scenarios.table import scenario_policy
from tests.scenarios.teams_driver import TeamsDriver, content, note_of, teams_driver, texts


@pytest.fixture
async def teams(engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    async with teams_driver(engine, scenario_policy) as driver:
        yield driver


async def test_the_form_is_filled_with_what_was_said_and_offers_the_systems_activities(
    teams: TeamsDriver,
) -> None:
    card = await teams.request_form("soo", "deploy credit-scoring")
    assert card.body["text"].startswith("deploy <system> <version>")
    form = content(card)
    fields = {b["id"]: b for b in form["body"] if b["type"].startswith("Input.")}
    assert fields["system"]["value"] == "credit-scoring"
    assert [c["value"] for c in fields["system"]["choices"]] == [
        "credit-scoring", "doc-search", "support-bot",
    ]  # fmt: skip
    assert [c["value"] for c in fields["activity"]["choices"]] == ["deploy"]
    assert fields["activity"]["value"] == "deploy" and "value" not in fields["version"]
    (send,) = form["actions"]
    assert send["type"] == "Action.Execute" and send["verb"] == ASK_VERB


async def test_a_bad_form_comes_back_with_why_and_a_redelivery_asks_once(
    teams: TeamsDriver,
) -> None:
    card = await teams.request_form("soo", "deploy")
    invoke = teams.world.invoke("soo", card, ASK_VERB)
    invoke["value"]["action"]["data"] |= {
        "system": "doc-search",
        "activity": "deploy",
        "version": "2.3.1;",
    }
    answer = (await (await teams.world.send(invoke)).json())["value"]
    assert "version" in (note_of(answer) or "")
    assert any(b.get("value") == "2.3.1;" for b in answer["body"])  # kept for correcting
    assert await teams.h.ledger() == []

    invoke["value"]["action"]["data"]["version"] = "2.3.1"
    first = (await (await teams.world.send(invoke)).json())["value"]
    again = (await (await teams.world.send(invoke)).json())["value"]
    assert texts(first)[1].startswith("Request R") and first["actions"] == []
    assert texts(again)[1] == "This form was already sent."
    assert [e.action for e in await teams.h.ledger()] == ["requested"]
