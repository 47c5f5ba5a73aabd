"""The load drill, a reduced TEST-L: minutes of clicks with redeliveries and a flaky Slack.

Twenty signed clicks a second over real HTTP for `SIGNOFF_DRILL_SECONDS` (two minutes unless
set), one in ten a redelivery of an earlier click, while the Slack stand-in answers 5 % of
posts and updates with a 429 and 1 % with a 503. The clicks are spread over twenty systems,
each with its own approvers and Informed channel, as in a busy workspace: one chat cannot take
more than Slack's one message a second in any case. Each request needs two approvals and gets
three, so the third always arrives at a decided request. Passing means: no 5xx from us, no
vote counted twice, every request decided once, the ledger verifies, and the outbox drains
within a minute after the load stops.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.chat import SlackChat, make_client
from adapters.slack.signing import SigningSecrets
from bot.platforms.slack import add_slack_events
from bot.storage.tables import votes
from tests.harness import Harness, Policies, build_policy
from tests.slack_standin import SlackStandIn
from tests.slack_world import SECRET, SlackWorld
from workflows.model import Status

SECONDS = float(os.environ.get("SIGNOFF_DRILL_SECONDS", "120"))
RATE = 20
DUPLICATES = 0.10
SYSTEMS = 20
REQUESTERS = 10


def spread_out(raw: dict[str, Any]) -> None:
    """Twenty systems, each with its own three approvers and Informed channel, and ten
    engineers asking: a busy workspace, where no one chat gets more than Slack allows it."""
    engineers = [f"eng{n}" for n in range(REQUESTERS)]
    for person in engineers:
        raw["people"][person] = {"name": person, "email": f"{person}@acme.example",
                                 "slack": f"U0{person.upper()}"}  # fmt: skip
    raw["roles"]["ml-engineer"]["members"] = engineers
    for n in range(SYSTEMS):
        approvers = [f"s{n}a{k}" for k in range(3)]
        for person in approvers:
            raw["people"][person] = {"name": person, "email": f"{person}@acme.example",
                                     "slack": f"U0{person.upper()}"}  # fmt: skip
        raw["roles"][f"owners-{n}"] = {"members": approvers}
        raw["channels"][f"drill-{n}"] = {"slack": f"C0DRILL{n}"}
        raw["systems"][f"sys-{n}"] = {
            "name": f"System {n}",
            "tier": "limited",  # a quorum of two
            "raci": {"deploy": {"responsible": ["ml-engineer"], "accountable": f"owners-{n}",
                                "informed": [f"#drill-{n}"]}},
        }  # fmt: skip


class WallClock:
    def __call__(self) -> datetime:
        return datetime.now(UTC)


async def until_drained(h: Harness, seconds: float) -> float:
    started = time.monotonic()
    while await h.relay.pending():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"{await h.relay.pending()} messages still pending")
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_a_reduced_test_l_loses_nothing_and_counts_nothing_twice(
    engine: AsyncEngine,
) -> None:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api, aiohttp.ClientSession() as session:
        client = make_client("xoxb-drill", str(api.make_url("/api/")), session)
        h = Harness(
            engine,
            policies=Policies.of(build_policy(spread_out)),
            clock=WallClock(),  # type: ignore[arg-type]
            # The real Slack client takes the fake's place as the "slack" port.
            more_ports={"slack": SlackChat(client)},
        )
        # Ten engineers open the whole load in one burst, far past the hourly limit.
        h.service.requests_per_hour = 10_000
        app = web.Application()
        add_slack_events(app, SigningSecrets(SECRET.encode()), client, h.runtime(), "T0ACME")
        async with TestClient(TestServer(app)) as http:
            world = SlackWorld(h, standin, http)
            stop = asyncio.Event()
            relay = asyncio.create_task(h.relay.run_forever(stop, idle=0.2))
            try:
                await drill(world, h, standin)
            finally:
                stop.set()
                await relay


async def drill(world: SlackWorld, h: Harness, standin: SlackStandIn) -> None:
    requests = int(SECONDS * RATE * (1 - DUPLICATES) / 3) + 1
    opened = [
        await h.open(f"eng{n % REQUESTERS}", system=f"sys-{n % SYSTEMS}") for n in range(requests)
    ]
    await until_drained(h, 300)
    # Every approver card: the DM it went to names the approver who clicks it.
    clicks = [
        world.click_body("U" + card.args["channel"][1:], card, "approve")
        for card in standin.called("chat.postMessage")
        if card.args.get("blocks") and card.args["channel"].startswith("D0S")
    ]
    assert len(clicks) == 3 * requests
    chooser = random.Random(11)
    chooser.shuffle(clicks)

    standin.flaky_429, standin.flaky_503 = 0.05, 0.01
    statuses: dict[int, int] = {}
    sent: list[bytes] = []
    in_flight: list[asyncio.Task[None]] = []

    async def send(body: bytes) -> None:
        response = await world.post(body)
        statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.monotonic()
    for n in range(int(SECONDS * RATE)):
        await asyncio.sleep(max(0.0, started + n / RATE - time.monotonic()))
        if sent and chooser.random() < DUPLICATES:
            body = chooser.choice(sent)  # a redelivery of an earlier click
        elif clicks:
            body = clicks.pop()
            sent.append(body)
        else:
            break
        in_flight.append(asyncio.create_task(send(body)))
    await asyncio.gather(*in_flight)
    drained_in = await until_drained(h, 60)

    assert statuses == {200: sum(statuses.values())}, statuses
    async with h.engine.connect() as conn:
        per_person = (
            await conn.execute(
                select(votes.c.request_id, votes.c.person, func.count())
                .group_by(votes.c.request_id, votes.c.person)
                .having(func.count() > 1)
            )
        ).all()
    assert per_person == []
    ledger = await h.ledger()
    decided = [e.subject_id for e in ledger if e.action == "approved"]
    assert len(decided) == len(set(decided))
    if not clicks:  # every click went out, so every request got its two approvals
        assert set(decided) == set(opened)
    for request_id in set(decided):
        state = await h.state(request_id)
        assert state.status is Status.APPROVED and len(state.approvals) == 2
    assert await h.outbox_count("dead") == 0
    assert await h.chain_ok()
    total = sum(statuses.values())
    print(
        f"load drill: {total} clicks in {SECONDS:.0f} s, {len(set(decided))} requests decided, "
        f"outbox drained {drained_in:.1f} s after the load"
    )
