"""The console beside Slack on one server, over real HTTP: a person who approves in the
console and then presses Approve on their Slack card counts once towards the quorum."""

from __future__ import annotations

import json

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets
from bot.platforms.console_mount import console_mount
from bot.platforms.slack import add_slack_events
from bot.settings import Settings
from tests.console.site import Browser
from tests.harness import Harness
from tests.slack_standin import SlackStandIn
from tests.slack_world import SECRET, SlackWorld
from workflows.model import Status


async def test_an_approval_in_the_console_and_a_click_in_slack_count_one_person_once(
    engine: AsyncEngine,
) -> None:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api, aiohttp.ClientSession() as session:
        web_client = make_client("xoxb-flow", str(api.make_url("/api/")), session)
        harness = Harness(engine, chat=SlackChat(web_client))  # type: ignore[arg-type]
        app = web.Application()
        add_slack_events(app, SigningSecrets(SECRET.encode()), web_client, harness.runtime())
        console_mount(Settings(host="127.0.0.1"), "local")(app, harness.runtime())
        async with TestClient(TestServer(app)) as client:
            slack = SlackWorld(harness, standin, client)
            browser = Browser(client)
            answer = await slack.command("U0SOO", "deploy support-bot 1.0 -- weekly refresh")
            assert "asked Mina Park, Jae Kim and Lee Cho to approve (2 needed)" in answer
            await harness.relay.drain()
            mina_card = slack.card_for("D0MINA")
            request_id = json.loads(mina_card.args["blocks"][-1]["elements"][0]["value"])["r"]

            await browser.act_as("mina")
            await browser.answer(request_id, "approve")
            assert await slack.click("U0MINA", mina_card, "approve") == 200
            note = standin.called("chat.postEphemeral")[-1]
            assert note.args["user"] == "U0MINA" and "already" in note.args["text"]
            state = await harness.state(request_id)
            assert state.status is Status.PENDING
            assert [(v.person, v.platform) for v in state.approvals] == [("mina", "web")]

            await harness.relay.drain()
            assert await slack.click("U0LEE", slack.card_for("D0LEE"), "approve") == 200
            state = await harness.state(request_id)
            assert state.status is Status.APPROVED
            assert [(v.person, v.platform) for v in state.approvals] == [
                ("mina", "web"),
                ("lee", "slack"),
            ]
            page = await browser.get(f"/requests/{request_id}")
            assert 'id="status">approved<' in page
            assert await harness.chain_ok()
