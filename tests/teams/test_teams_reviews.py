"""Risk reviews in Teams (issue 22): the review's Adaptive Card, its reminders and escalation
as cards, completion from the card, and the same ledger as the same review done in Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.review_card import COMPLETE_VERB, REVIEW_REFRESH_VERB
from bot.storage.database import create_engine
from bot.storage.tables import metadata
from tests.harness import CHECKLIST, T0
from tests.scenarios.driver import ChatDriver, complete_review, sweep
from tests.scenarios.slack_driver import slack_driver
from tests.scenarios.table import scenario_policy
from tests.scenarios.teams_driver import (
    TeamsDriver,
    content,
    has_form,
    note_of,
    teams_driver,
    texts,
)
from tests.teams_standin import TENANT
from tests.teams_world import GOV_CHANNEL
from workflows.ledger import LedgerEntry

DUE = T0 + timedelta(days=30)


@pytest.fixture
async def teams(engine: AsyncEngine) -> AsyncIterator[TeamsDriver]:
    async with teams_driver(engine, scenario_policy) as driver:
        yield driver


def review_cards(d: TeamsDriver, conversation: str) -> list[dict[str, Any]]:
    cards = [content(c) for c in d.connector.cards(conversation)]
    return [c for c in cards if texts(c)[0].startswith("The risk review of")]


def toggles(card: dict[str, Any]) -> list[str]:
    return [b["title"] for b in card["body"] if b["type"] == "Input.Toggle"]


async def test_review_opens_the_card_with_the_checklist_as_toggles_and_notes(
    teams: TeamsDriver,
) -> None:
    assert "No risk review is due" in await teams.say("soo", "reviews")
    await sweep(teams, T0)
    teams.h.clock.now = T0 + timedelta(days=25)
    listed = await teams.say("soo", "reviews")
    assert listed == "Risk reviews:\ncredit-scoring: due 2026-12-02 (in 5 days)"
    mine = await teams.say("mina", "reviews")
    assert mine == "Yours to complete:\ncredit-scoring: due 2026-12-02 (in 5 days)"
    assert "There is no AI system 'nope'" in await teams.say("mina", "review nope")

    card = content(await teams.review_form("mina", "credit-scoring"))
    assert card["version"] == "1.5"
    assert toggles(card) == list(CHECKLIST)
    (notes,) = [b for b in card["body"] if b["type"] == "Input.Text"]
    assert notes["id"] == "notes" and notes["isMultiline"] is True
    (button,) = card["actions"]
    review = await teams.h.reviews.open_review("credit-scoring")
    assert review is not None
    assert button["type"] == "Action.Execute" and button["verb"] == COMPLETE_VERB
    assert button["data"] == {"v": review.id, "n": review.revision}
    # Refresh names, by MRI, those who may complete it and whose MRI is known (Mina wrote).
    assert card["refresh"]["action"]["verb"] == REVIEW_REFRESH_VERB
    assert card["refresh"]["userIds"] == ["29:mina"]
    assert texts(card)[0] == "The risk review of Credit scoring model (credit-scoring)"
    assert "Due 2026-12-02. Who may complete it: Mina Park, Jae Kim and Lee Cho." in texts(card)
    assert [e.action for e in await teams.h.ledger()] == ["review-scheduled"] * 3


async def test_reminders_and_escalation_are_cards_and_the_channel_copy_refreshes(
    teams: TeamsDriver,
) -> None:
    await sweep(teams, T0)
    await sweep(teams, DUE - timedelta(days=1))
    for person in ("soo", "mina", "jae", "lee"):
        (card,) = review_cards(teams, teams.world.chat_of(person))
        assert has_form(card) and toggles(card) == list(CHECKLIST)
        said = texts(card)[1]
        assert said.startswith("Reminder: the risk review of Credit scoring model")
        assert "due in 1 day (2026-12-02)" in said and "/signoff" not in said

    await sweep(teams, DUE + timedelta(days=1))
    (escalated,) = review_cards(teams, teams.world.chat_of("cdao"))
    assert has_form(escalated) and "escalated to Ada Chief" in texts(escalated)[1]
    assert "Due 2026-12-02 (escalated)." in texts(escalated)[2]
    # The channel's copy is read-only, and turns into the form for those who may complete it.
    (channel_card,) = review_cards(teams, GOV_CHANNEL)
    assert channel_card["actions"] == [] and not has_form(channel_card)
    assert set(channel_card["refresh"]["userIds"]) == {"29:mina", "29:jae", "29:lee", "29:cdao"}
    (posted,) = [c for c in teams.connector.cards(GOV_CHANNEL)]
    refresh = teams.world.invoke("cdao", posted, REVIEW_REFRESH_VERB)
    refresh["conversation"] = {"id": GOV_CHANNEL, "conversationType": "channel", "tenantId": TENANT}
    response = await teams.world.send(refresh)
    assert response.status == 200
    assert has_form((await response.json())["value"])
    actions = [e.action for e in await teams.h.ledger()]
    assert actions.count("review-reminded") == 1 and actions.count("review-escalated") == 1


async def test_a_stale_card_is_refused_with_the_current_card_in_its_place(
    teams: TeamsDriver,
) -> None:
    await sweep(teams, T0)
    old = await teams.review_form("mina", "credit-scoring")
    opened = await teams.say("soo", "incident credit-scoring sev3 latency up")
    await teams.say("mina", f"incident close {opened.split()[1]} -- fixed")
    invoke = teams.world.invoke("mina", old, COMPLETE_VERB)
    invoke["value"]["action"]["data"] |= {f"check{i}": c for i, c in enumerate(CHECKLIST)}
    response = await teams.world.send(invoke)
    assert response.status == 200
    card = (await response.json())["value"]
    assert note_of(card) == "This review form is out of date; open it again."
    review = await teams.h.reviews.open_review("credit-scoring")
    assert review is not None and review.revision == 2
    assert card["actions"][0]["data"]["n"] == 2 and has_form(card)
    denied = [e for e in await teams.h.ledger() if e.action == "denied"]
    assert [e.data["reason"] for e in denied] == ["stale"]
    assert review.status.value == "due"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"v": "not-a-review", "n": 1}, 400),
        ({"v": "V0000000000000", "n": "1"}, 400),
        ({"v": "V0000000000000"}, 400),
        ({"v": "V0000000000000", "n": 1}, 404),
    ],
)
async def test_a_review_action_that_is_not_ours_changes_nothing(
    teams: TeamsDriver, data: dict[str, Any], status: int
) -> None:
    await sweep(teams, T0)
    before = await teams.h.ledger()
    invoke = teams.world.activity(
        "mina",
        kind="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": COMPLETE_VERB, "data": data}},
    )
    response = await teams.world.send(invoke)
    assert response.status == 200
    answer = await response.json()
    assert answer["statusCode"] == status and answer["type"] == "application/vnd.microsoft.error"
    assert await teams.h.ledger() == before


async def _review_cycle(d: ChatDriver) -> None:
    """Due, reminded, escalated to the backup, refused once, completed by the Accountable."""
    await sweep(d, T0)
    await sweep(d, DUE - timedelta(days=7))
    await sweep(d, DUE)
    await sweep(d, DUE + timedelta(days=1))
    assert await complete_review(d, "soo", "credit-scoring", CHECKLIST, "") is not None
    assert await complete_review(d, "mina", "credit-scoring", CHECKLIST[:2], "Later.") is None


def _comparable(entries: list[LedgerEntry]) -> list[tuple[Any, ...]]:
    """Entries without what differs between the runs by nature: random ids (numbered in order
    of appearance), the chat account, the policy's digest and the hashes."""
    ids: dict[str, str] = {}

    def same(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "VRI" and len(value) == 13:
            return ids.setdefault(value, f"id{len(ids)}")
        if isinstance(value, dict):
            return {k: same(v) for k, v in value.items()}
        if isinstance(value, list):
            return [same(v) for v in value]
        return value

    return [
        (e.seq, e.at, e.action, e.subject_type, same(e.subject_id), e.actor_person, same(e.data))
        for e in entries
    ]


async def test_a_review_done_in_teams_leaves_the_ledger_a_slack_review_leaves(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with teams_driver(engine, scenario_policy) as teams:
        await _review_cycle(teams)
        # Reminded and escalated in Teams, as cards with the form; completed from Mina's card.
        reminded = review_cards(teams, teams.world.chat_of("mina"))
        said = [texts(card)[1] for card in reminded]
        assert len(said) == 3 and all(has_form(card) for card in reminded)
        assert "is due in 7 days" in said[0] and "is due today" in said[1] and "overdue" in said[2]
        (escalated,) = review_cards(teams, teams.world.chat_of("cdao"))
        assert has_form(escalated) and "escalated to Ada Chief" in texts(escalated)[1]
        in_teams = await teams.h.ledger()
        (completed,) = [e for e in in_teams if e.action == "review-completed"]
        assert completed.actor_person == "mina" and completed.actor_platform == "teams"
        assert completed.data["notes"] == "Later." and completed.data["checked"] == list(
            CHECKLIST[:2]
        )
    slack_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}")
    try:
        async with slack_engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with slack_driver(slack_engine, scenario_policy) as slack:
            await _review_cycle(slack)
            in_slack = await slack.h.ledger()
    finally:
        await slack_engine.dispose()
    assert [e.actor_platform for e in in_slack if e.actor_person] == ["slack"] * 2
    assert _comparable(in_teams) == _comparable(in_slack)
    actions = [e.action for e in in_teams if e.subject_id == completed.subject_id]
    assert actions == [
        "review-scheduled", "review-reminded", "review-reminded", "review-escalated", "denied",
        "review-completed",
    ]  # fmt: skip
