"""Incidents in Slack over real HTTP: the room, its people, the freeze, the close (issue 6).

The harness policy has no `incident` RACI, so the `deploy` RACI answers for incidents:
Responsible Soo, Accountable Mina, Jae and Lee, Consulted Dan, Informed #ai-governance and
the board (Ines).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from bot.storage.incidents import lock_system, save_incident
from bot.storage.tables import risk_reviews
from tests.harness import actor
from tests.slack_world import SlackWorld
from workflows.commands import OpenRequest
from workflows.incidents import Incident
from workflows.model import Status

ROOM = "inc-20261102-credit-scoring-1"


def invited(world: SlackWorld) -> set[str]:
    return {c.args["users"] for c in world.standin.called("conversations.invite")}


def posted_in(world: SlackWorld, channel: str) -> list[str]:
    return [
        c.args.get("text", "")
        for c in world.standin.called("chat.postMessage")
        if c.args["channel"] == channel
    ]


async def incident_id(world: SlackWorld) -> str:
    return next(e.subject_id for e in await world.h.ledger() if e.action == "incident-opened")


async def test_open_freeze_and_close_an_incident(world: SlackWorld) -> None:
    before = await world.command("U0SOO", "deploy credit-scoring 2.3.1 -- retrain")
    pending = before.split()[1]
    await world.h.settle()

    answer = await world.command("U0SOO", "incident credit-scoring sev2 scores drift after retrain")
    assert f"opened: room {ROOM}" in answer
    await world.h.settle()
    (created,) = world.standin.called("conversations.create")
    assert created.args["name"] == ROOM and created.args["is_private"] in (True, "1", "true")
    room = world.standin.channels_by_name[ROOM]
    assert invited(world) == {"U0SOO", "U0MINA", "U0JAE", "U0LEE", "U0DAN"}
    first = posted_in(world, room)[0]
    for fact in (
        "sev2",
        "Credit scoring model",
        "risk tier high",
        "scores drift",
        "R: ml-engineer",
    ):
        assert fact in first
    (pin,) = world.standin.called("pins.add")
    assert pin.args["channel"] == room
    assert world.standin.called("conversations.setTopic")[0].args["channel"] == room
    assert any(f"<#{room}>" in text for text in posted_in(world, "C0GOV"))

    # The pending request is frozen, and says so; a new one on this system is refused.
    state = await world.h.state(pending)
    assert state.frozen_by is not None
    refreshed = [u for u in world.standin.called("chat.update") if u.args["channel"] == "D0MINA"]
    assert "Frozen while incident" in json.dumps(refreshed[-1].args["blocks"])
    refused = await world.command("U0SOO", "deploy credit-scoring 2.4.0")
    assert "frozen while incident" in refused
    assert "is open" in await world.command("U0SOO", "deploy doc-search 4.0")

    # Only the Responsible or Accountable may close it.
    incident = await incident_id(world)
    assert "Only the incident's Responsible or Accountable" in await world.command(
        "U0INES", f"incident close {incident} -- all good"
    )
    closed = await world.command("U0MINA", f"incident close {incident} -- rolled back to 2.3.0")
    assert "closed by Mina Park" in closed
    await world.h.settle()
    assert any("rolled back to 2.3.0" in text for text in posted_in(world, room))
    assert (await world.h.state(pending)).frozen_by is None
    assert "is open" in await world.command("U0SOO", "deploy credit-scoring 2.4.1")

    async with world.h.engine.connect() as conn:
        due = await conn.scalar(
            select(risk_reviews.c.due_at).where(risk_reviews.c.open_system == "credit-scoring")
        )
    assert due == world.h.clock() + timedelta(days=7)
    actions = [e.action for e in await world.h.ledger()]
    for expected in ("incident-opened", "frozen", "incident-closed", "thawed", "review-scheduled"):
        assert expected in actions
    assert [e.data.get("reason") for e in await world.h.ledger() if e.action == "denied"] == [
        "frozen",
        "not-accountable",
    ]
    assert await world.h.chain_ok()


async def test_dur_14_two_triggers_at_once_make_one_incident(world: SlackWorld) -> None:
    first, second = await asyncio.gather(
        world.command("U0SOO", "incident credit-scoring sev3 latency up"),
        world.command("U0MINA", "incident credit-scoring sev3 latency up"),
    )
    answers = sorted([first, second], key=lambda a: "already open" in a)
    assert "opened: room" in answers[0] and "already open" in answers[1]
    await world.h.settle()
    assert len(world.standin.called("conversations.create")) == 1
    assert [e.action for e in await world.h.ledger()].count("incident-opened") == 1


async def test_name_taken_adopts_the_existing_channel(world: SlackWorld) -> None:
    world.standin.channels_by_name[ROOM] = "C0EXISTING"
    await world.command("U0SOO", "incident credit-scoring sev4 a small thing")
    await world.h.settle()
    assert {c.args["channel"] for c in world.standin.called("conversations.invite")} == {
        "C0EXISTING"
    }
    assert posted_in(world, "C0EXISTING")


async def test_a_failed_invite_is_retried_for_that_person_alone(world: SlackWorld) -> None:
    world.standin.uninvitable["U0DAN"] = "fatal_error"  # temporary on Slack's side
    await world.command("U0SOO", "incident credit-scoring sev3 latency up")
    await world.h.relay.drain()
    await world.h.relay.drain()
    assert invited(world) == {"U0SOO", "U0MINA", "U0JAE", "U0LEE", "U0DAN"}  # all were tried
    del world.standin.uninvitable["U0DAN"]
    world.h.clock.advance(minutes=1)
    await world.h.settle()
    dan = [c for c in world.standin.called("conversations.invite") if c.args["users"] == "U0DAN"]
    assert len(dan) >= 2  # retried after the failure
    assert await world.h.outbox_count("dead") == 0


async def test_bad_input_is_explained_and_creates_nothing(world: SlackWorld) -> None:
    assert "severity" in await world.command("U0SOO", "incident credit-scoring sev9 boom")
    assert "no AI system 'nope'" in await world.command("U0SOO", "incident nope sev1 boom")
    answer = await world.command("U0OUT", "incident credit-scoring sev1 boom")
    assert "Only people in the RACI of credit-scoring" in answer and "Mina Park" in answer
    await world.h.settle()
    assert world.standin.called("conversations.create") == []
    assert [e.action for e in await world.h.ledger()] == ["denied"]  # the outsider, audited
    assert "close" in await world.command("U0MINA", "incident close")
    assert "no incident" in (await world.command("U0MINA", "incident close I0000000000AB -- x"))


async def test_statuses_other_than_pending_are_not_frozen(world: SlackWorld) -> None:
    answer = await world.command("U0SOO", "deploy doc-search 1.0")
    request_id = answer.split()[1]
    await world.h.answer(request_id, "mina")
    await world.command("U0SOO", "incident doc-search sev4 minor")
    assert (await world.h.state(request_id)).status is Status.APPROVED
    assert (await world.h.state(request_id)).frozen_by is None


async def test_a_request_waits_for_an_incident_being_opened_on_its_system(
    world: SlackWorld,
) -> None:
    """A request racing an incident's transaction waits for it, then sees the freeze."""
    h = world.h
    incident = Incident(
        id="I0000000000RACE",
        system="credit-scoring",
        severity="sev2",
        summary="racing",
        reporter=actor("soo"),
        room="inc-20261102-credit-scoring-1",
        private=True,
        opened_at=h.clock(),
    )
    async with h.engine.connect() as holder:
        transaction = await holder.begin()
        await lock_system(holder, "credit-scoring")
        opening = asyncio.create_task(h.service.handle(_deploy("credit-scoring")))
        await asyncio.sleep(0.3)
        assert not opening.done()  # it waits for the incident's transaction
        await save_incident(holder, None, incident, h.clock())
        await transaction.commit()
    outcome = await opening
    assert outcome.code == "frozen" and "I0000000000RACE" in outcome.message


def _deploy(system: str) -> OpenRequest:
    return OpenRequest(request_id="R0000000000RACE", actor=actor("soo"), system=system, version="1")
