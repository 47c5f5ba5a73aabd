"""SlackChat through the outbox relay, over real HTTP to a local Slack Web API stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import Destination, OutgoingMessage, PermanentFailure, RateLimited
from adapters.slack.chat import SlackChat, make_client
from tests.harness import Harness, Policies, build_policy
from tests.slack_standin import SlackStandIn
from workflows.model import Status

TOKEN = "xoxb-test-token"
RATE_LIMITED = {"ok": False, "error": "ratelimited"}


@pytest.fixture
async def slack() -> AsyncIterator[tuple[SlackStandIn, SlackChat]]:
    standin = SlackStandIn(users_by_email={"jae@acme.example": "U0JAEMAIL"})
    async with TestServer(standin.app()) as server:
        client = make_client(TOKEN, str(server.make_url("/api/")))
        yield standin, SlackChat(client)
        if client.session is not None:
            await client.session.close()


def _without_jaes_slack_id(raw: dict[str, Any]) -> None:
    del raw["people"]["jae"]["slack"]


async def test_a_request_reaches_slack_and_decisions_update_every_card(
    engine: AsyncEngine, slack: tuple[SlackStandIn, SlackChat]
) -> None:
    standin, chat = slack
    h = Harness(engine, Policies.of(build_policy(_without_jaes_slack_id)), chat=chat)  # type: ignore[arg-type]
    rid = await h.open("soo", system="doc-search")
    await h.relay.drain()
    posts = standin.called("chat.postMessage")
    assert {p.args["channel"] for p in posts} == {"D0MINA", "D0JAEMAIL", "D0LEE"}
    assert standin.called("users.lookupByEmail")[0].args["email"] == "jae@acme.example"
    assert all(c.authorization == f"Bearer {TOKEN}" for c in standin.calls)
    assert all("link_names" not in p.args and "parse" not in p.args for p in posts)
    actions = [b for b in posts[0].args["blocks"] if b["type"] == "actions"]
    assert actions[0]["block_id"] == f"signoff:{rid}:1"

    assert (await h.answer(rid, "mina")).code == "approved"
    await h.relay.drain()
    updates = standin.called("chat.update")
    assert {(u.args["channel"], u.args["ts"]) for u in updates} == {
        (p.args["channel"], f"{1_700_000_000 + n}.000100") for n, p in enumerate(posts, 1)
    }
    assert all(not any(b["type"] == "actions" for b in u.args["blocks"]) for u in updates)
    assert (await h.state(rid)).status is Status.APPROVED


async def test_a_429_holds_that_channel_for_retry_after(
    engine: AsyncEngine, slack: tuple[SlackStandIn, SlackChat]
) -> None:
    standin, chat = slack
    standin.script(
        "chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}
    )
    h = Harness(engine, chat=chat)  # type: ignore[arg-type]
    await h.open("soo", system="doc-search")
    report = await h.relay.drain()
    assert report.retried == 1 and report.sent == 2
    h.clock.advance(seconds=6)
    assert (await h.relay.drain()).handled == 0
    h.clock.advance(seconds=1)
    assert (await h.relay.drain()).sent == 1
    assert len(standin.called("chat.postMessage")) == 4  # one refused, then three delivered


async def test_slack_errors_map_to_the_relays_failures(
    slack: tuple[SlackStandIn, SlackChat],
) -> None:
    standin, chat = slack
    to = Destination("channel", "gov", "C0GOV")
    message = OutgoingMessage("hello")
    standin.script("chat.postMessage", 200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(PermanentFailure, match="channel_not_found"):
        await chat.post(to, message)
    standin.script("chat.postMessage", 503, {"ok": False, "error": "service_unavailable"})
    with pytest.raises(Exception, match="503") as temporary:
        await chat.post(to, message)
    assert type(temporary.value).__name__ == "TemporaryFailure"
    standin.script(
        "chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}
    )
    with pytest.raises(RateLimited) as limited:
        await chat.post(to, message)
    assert limited.value.retry_after == 3
    assert len(standin.called("chat.postMessage")) == 3  # nothing retried behind our back
    assert (await chat.post(to, message))["channel"] == "C0GOV"
