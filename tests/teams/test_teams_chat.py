"""Teams delivery through the outbox: retries and dead letters (DUR-08), reaching people.

The relay's posts go over real HTTP to the Bot Connector stand-in, which answers as scripted.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.storage.tables import outbox
from tests.harness import build_policy
from tests.teams_world import AAD, TeamsWorld, teams_policy

DEPLOY = "deploy doc-search 4.0"  # minimal tier: cards to mina, jae and lee
CARD_POST = "/v3/conversations/a:chat-"  # a card in a chat Signoff opened


async def errors(teams: TeamsWorld) -> list[tuple[str, int, str | None]]:
    async with teams.h.engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.last_error))
        return [(r.status, r.attempts, r.last_error) for r in rows]


@pytest.mark.parametrize("status", [412, 502, 504, 500])
async def test_dur_08_temporary_answers_are_retried_with_back_off(
    teams: TeamsWorld, status: int
) -> None:
    await teams.say("soo", "help")  # the tenant's service URL is now known
    teams.connector.script("POST", status, path=CARD_POST)
    await teams.say("soo", DEPLOY)
    await teams.h.relay.drain()
    retried = [e for e in await errors(teams) if e[0] == "pending"]
    assert retried == [("pending", 1, f"TemporaryFailure: Teams answered {status}")]
    teams.h.clock.advance(seconds=5)
    await teams.h.relay.drain()
    assert {e[0] for e in await errors(teams)} == {"sent"}
    delivered = [c for c in teams.connector.cards(teams.chat_of("mina")) if c.answered_id]
    assert len(delivered) == 1


async def test_dur_08_a_429_waits_for_retry_after(teams: TeamsWorld) -> None:
    await teams.say("soo", "help")
    teams.connector.script("POST", 429, {"Retry-After": "30"}, path=CARD_POST)
    await teams.say("soo", DEPLOY)
    await teams.h.relay.drain()
    assert [e for e in await errors(teams) if e[0] == "pending"] == [
        ("pending", 0, "Teams rate limit; retry after 30 s")
    ]
    teams.h.clock.advance(seconds=29)
    await teams.h.relay.drain()
    assert len([e for e in await errors(teams) if e[0] == "pending"]) == 1
    teams.h.clock.advance(seconds=2)
    await teams.h.relay.drain()
    assert {e[0] for e in await errors(teams)} == {"sent"}


@pytest.mark.parametrize("status", [403, 404])
async def test_dur_08_forbidden_and_not_found_are_dead_lettered(
    teams: TeamsWorld, status: int
) -> None:
    await teams.say("soo", "help")
    teams.connector.script("POST", status, path=CARD_POST)
    await teams.say("soo", DEPLOY)
    await teams.h.relay.drain()
    dead = [e for e in await errors(teams) if e[0] == "dead"]
    assert dead == [("dead", 1, f"permanent: Teams refused with {status}")]
    # The requester hears who was not asked and why; the ledger keeps it for the auditors.
    # Which approver's card met the scripted answer depends on the order of the deliveries.
    await teams.h.settle()
    entry = next(e for e in await teams.h.ledger() if e.action == "undeliverable")
    unreached = entry.data["person"]
    assert entry.data == {
        "activity": "deploy",
        "person": unreached,
        "platform": "teams",
        "why": f"Teams refused with {status}",
    }
    name = {"mina": "Mina Park", "jae": "Jae Kim", "lee": "Lee Cho"}[unreached]
    told = [c.body.get("text", "") for c in teams.connector.posts(teams.personal("soo"))]
    assert any(
        f"could not reach {name} on Microsoft Teams (Teams refused with {status})" in t
        for t in told
    )
    reached = {"mina", "jae", "lee"} - {unreached}
    assert all(teams.connector.cards(teams.chat_of(p)) for p in reached)
    assert await teams.h.chain_ok()


async def test_someone_with_no_teams_id_is_known_by_email_and_reached_in_their_chat(
    teams: TeamsWorld,
) -> None:
    def lee_by_email_only(raw: dict[str, Any]) -> None:
        teams_policy(raw)
        del raw["people"]["lee"]["teams"]

    teams.h.policies.replace(build_policy(lee_by_email_only))
    # Lee writes first: the member look-up gives their email, which the policy knows.
    assert await teams.say("lee", "status")
    await teams.say("soo", DEPLOY)
    await teams.h.settle()
    card = teams.card_in(teams.personal("lee"))
    status, _ = await teams.press("lee", card, "signoff.approve")
    assert status == 200
    request = next(e.subject_id for e in await teams.h.ledger() if e.action == "requested")
    state = await teams.h.state(request)
    assert [(v.person, v.platform) for v in state.approvals] == [("lee", "teams")]
    assert AAD["lee"] not in {c.body["members"][0]["id"] for c in teams.connector.created()}


async def test_before_any_teams_activity_the_service_url_is_unknown_and_said_so(
    teams: TeamsWorld,
) -> None:
    await teams.h.open("soo", system="doc-search")
    await teams.h.relay.drain()
    dead = [e for e in await errors(teams) if e[0] == "dead"]
    assert dead and all("install the Signoff app in Teams first" in (e[2] or "") for e in dead)
    assert teams.connector.calls == []
