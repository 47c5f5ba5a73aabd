"""One request, two platforms: asked in Slack, decided by a Slack and a Teams approval.

A person counts once across platforms: the policy maps both accounts to the same person.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from tests.slack_standin import SlackStandIn
from tests.slack_world import SlackWorld
from tests.teams_world import AAD, TeamsWorld, open_teams_world
from workflows.model import Status


def on_both(raw: dict[str, Any]) -> None:
    for person, entry in raw["people"].items():
        entry["teams"] = AAD[person]
    raw["channels"]["ai-governance"]["teams"] = "19:gov@thread.tacv2"


@pytest.fixture
async def both(engine: AsyncEngine) -> AsyncIterator[tuple[SlackWorld, TeamsWorld]]:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api:
        web_client = make_client("xoxb-flow", str(api.make_url("/api/")))
        async with open_teams_world(engine, on_both, (SlackChat(web_client), web_client)) as teams:
            yield SlackWorld(teams.h, standin, teams.client), teams


async def test_asked_in_slack_decided_by_one_approval_on_each_platform(
    both: tuple[SlackWorld, TeamsWorld],
) -> None:
    slack, teams = both
    # Jae has written to Signoff in Teams before, so the tenant's service URL is known.
    await teams.say("jae", "help")
    answer = await slack.command("U0SOO", "deploy support-bot 1.4.0 to prod -- new prompts")
    request_id = answer.split()[1]
    await slack.h.settle()
    # Each approver has a card on each platform.
    assert slack.card_for("D0MINA") and teams.card_in(teams.personal("jae"))

    assert await slack.click("U0MINA", slack.card_for("D0MINA"), "approve") == 200
    # Mina again, now in Teams: the same person, so it does not make a quorum of two.
    mina_card = teams.card_in(teams.chat_of("mina"))
    status, body = await teams.press("mina", mina_card, "signoff.approve")
    assert status == 200
    assert "already" in body["value"]["body"][1]["inlines"][0]["text"]
    assert (await slack.h.state(request_id)).status is Status.PENDING

    status, body = await teams.press("jae", teams.card_in(teams.personal("jae")), "signoff.approve")
    assert status == 200
    await slack.h.settle()
    state = await slack.h.state(request_id)
    assert state.status is Status.APPROVED
    assert sorted((v.person, v.platform) for v in state.approvals) == [
        ("jae", "teams"),
        ("mina", "slack"),
    ]
    assert any(
        "approved by Mina Park and Jae Kim" in c.args.get("text", "")
        for c in slack.standin.called("chat.postMessage")
        if c.args["channel"] == "D0SOO"
    )
    assert await slack.h.chain_ok()
