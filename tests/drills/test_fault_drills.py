"""Fault drills DUR-01..04: `signoff serve` dies at a named crash point and is restarted.

Each drill runs a real server process against the Slack stand-in and one SQLite file, arms
one crash point with SIGNOFF_FAULT_AT, lets it die there, restarts it unarmed, and checks
what the team guarantees: nothing acknowledged is lost, nothing is decided twice, and a
message is repeated at most once.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.observability.faults import EXIT_CODE
from tests.conftest import EXAMPLE_POLICY
from tests.serve_process import Server, _env, signoff, start_server, until
from tests.slack_process import SECRET, Slack
from tests.slack_standin import Call, SlackStandIn


@dataclass
class Drill:
    tmp_path: Path
    standin: SlackStandIn
    env: dict[str, str]
    servers: list[Server]

    async def serve(self, fault: str | None = None) -> Server:
        env = {**self.env, **({"SIGNOFF_FAULT_AT": fault} if fault else {})}
        server = await start_server(self.tmp_path, f"serve-{len(self.servers)}", env)
        self.servers.append(server)
        return server

    async def post(self, server: Server, body: bytes) -> tuple[int, str] | None:
        """Slack's request; None when the server died before answering."""
        async with aiohttp.ClientSession() as http:
            try:
                return await Slack(http, server.base).post(body)
            except aiohttp.ClientError:
                return None

    async def ask(self, server: Server, version: str) -> None:
        """Jae types `/signoff deploy doc-search <version>`; the server must acknowledge it."""
        body = urlencode(
            {"command": "/signoff", "text": f"deploy doc-search {version}", "user_id": "U0JAE",
             "team_id": "T0ACME"}
        ).encode()  # fmt: skip
        answered = await self.post(server, body)
        assert answered is not None and answered[0] == 200, answered

    async def request(self, server: Server) -> Call:
        await self.ask(server, "8.0")
        await until(lambda: self.cards_for("D0MINA"), "Mina's card", self.servers)
        return self.cards_for("D0MINA")[-1]

    async def approve(self, server: Server, card: Call) -> tuple[int, str] | None:
        press = self.standin.press("U0MINA", card, "approve")
        return await self.post(server, urlencode({"payload": json.dumps(press)}).encode())

    def cards_for(self, channel: str) -> list[Call]:
        posts = self.standin.called("chat.postMessage")
        return [c for c in posts if c.args["channel"] == channel and "blocks" in c.args]

    def texts_to(self, channel: str) -> list[str]:
        posts = self.standin.called("chat.postMessage")
        return [c.args["text"] for c in posts if c.args["channel"] == channel]

    def updates_of(self, card: Call) -> list[Call]:
        ts = self.standin.ts_of(card)
        return [u for u in self.standin.called("chat.update") if u.args["ts"] == ts]

    def ledger_actions(self) -> list[str]:
        done = signoff(self.tmp_path, "audit", "export", "--format", "jsonl", **self._db())
        assert done.returncode == 0, done.stderr
        return [json.loads(line)["action"] for line in done.stdout.splitlines() if line]

    def verify(self) -> None:
        done = signoff(self.tmp_path, "audit", "verify", **self._db())
        assert done.returncode == 0, done.stdout

    def _db(self) -> dict[str, str]:
        return {"DATABASE_URL": self.env["DATABASE_URL"]}


@pytest.fixture
async def drill(tmp_path: Path) -> AsyncIterator[Drill]:
    standin = SlackStandIn()
    async with TestServer(standin.app()) as api:
        env = _env(
            tmp_path,
            SIGNOFF_POLICY=str(EXAMPLE_POLICY),
            SIGNOFF_OUTBOX_LEASE_SECONDS="1",
            SIGNOFF_PACE_SECONDS="0.01",
            # Fifty requests by one person within a minute: past the hourly limit.
            SIGNOFF_REQUESTS_PER_HOUR="100",
            SLACK_BOT_TOKEN="xoxb-drill",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=str(api.make_url("/api/")),
        )
        assert signoff(tmp_path, "db", "upgrade").returncode == 0
        drill = Drill(tmp_path, standin, env, [])
        try:
            yield drill
        finally:
            for server in drill.servers:
                await server.stop()


async def _died(server: Server) -> None:
    assert await server.process.wait() == EXIT_CODE, server.text()
    assert "FAULT DRILL: dying at" in server.text()


async def test_dur_01_a_crash_after_commit_keeps_the_decision(drill: Drill) -> None:
    armed = await drill.serve("after_commit_before_ack:approve")
    card = await drill.request(armed)
    assert await drill.approve(armed, card) is None  # Slack saw no answer: an error to Mina
    await _died(armed)

    fresh = await drill.serve()
    await until(lambda: drill.updates_of(card), "the card updated after restart", drill.servers)
    assert not any(b["type"] == "actions" for b in drill.updates_of(card)[-1].args["blocks"])
    again = await drill.approve(fresh, card)  # Mina clicks again: already decided
    assert again is not None and again[0] == 200
    await until(lambda: drill.standin.called("chat.postEphemeral"), "the reply", drill.servers)
    assert "already approved" in drill.standin.called("chat.postEphemeral")[-1].args["text"]
    assert drill.ledger_actions().count("approved") == 1
    drill.verify()


async def test_dur_02_a_crash_before_commit_records_nothing(drill: Drill) -> None:
    armed = await drill.serve("before_commit:approve")
    card = await drill.request(armed)
    assert await drill.approve(armed, card) is None
    await _died(armed)
    assert "approved" not in drill.ledger_actions()

    fresh = await drill.serve()
    retried = await drill.approve(fresh, card)
    assert retried is not None and retried[0] == 200
    await until(lambda: drill.updates_of(card), "the card updated", drill.servers)
    assert drill.ledger_actions().count("approved") == 1
    drill.verify()


async def test_dur_03_a_card_update_is_repeated_identically(drill: Drill) -> None:
    armed = await drill.serve("after_api_call_before_outbox_mark_done:update")
    card = await drill.request(armed)
    answered = await drill.approve(armed, card)
    assert answered is not None and answered[0] == 200  # the decision itself was acknowledged
    await _died(armed)  # the relay died right after its chat.updates, before marking them sent
    in_flight = {update.args["ts"] for update in drill.standin.called("chat.update")}
    assert in_flight

    await drill.serve()

    def updates_by_message() -> dict[str, list[Call]]:
        by_message: dict[str, list[Call]] = {}
        for update in drill.standin.called("chat.update"):
            by_message.setdefault(update.args["ts"], []).append(update)
        return by_message

    def every_card_updated_and_the_lost_ones_repeated() -> bool:
        cards = drill.cards_for("D0MINA") + drill.cards_for("D0TOMAS")
        repeated = all(len(updates_by_message()[ts]) == 2 for ts in in_flight)
        return repeated and all(drill.updates_of(c) for c in cards)

    await until(
        every_card_updated_and_the_lost_ones_repeated,
        "every card updated after restart, the unrecorded updates once more",
        drill.servers,
    )
    for updates in updates_by_message().values():
        assert len(updates) <= 2
        assert all(u.args["blocks"] == updates[0].args["blocks"] for u in updates)
    assert len(drill.cards_for("D0MINA")) == 1  # no card posted twice
    assert drill.ledger_actions().count("approved") == 1
    drill.verify()


async def test_dur_04_a_text_message_is_sent_at_most_twice(drill: Drill) -> None:
    armed = await drill.serve("after_api_call_before_outbox_mark_done:text")
    card = await drill.request(armed)
    answered = await drill.approve(armed, card)
    assert answered is not None and answered[0] == 200
    await _died(armed)  # after the first "was approved" notice went out, before it was marked
    await drill.serve()

    def told(channel: str) -> list[str]:
        return [t for t in drill.texts_to(channel) if "was approved" in t]

    await until(lambda: told("D0JAE") and told("C0AIGOV"), "both notices", drill.servers)
    assert 1 <= len(told("D0JAE")) <= 2 and 1 <= len(told("C0AIGOV")) <= 2
    assert drill.ledger_actions().count("approved") == 1
    drill.verify()


async def test_dur_12_sigterm_with_fifty_clicks_in_flight(drill: Drill) -> None:
    server = await drill.serve()
    for n in range(50):
        await drill.ask(server, f"12.{n}")
    await until(lambda: len(drill.cards_for("D0MINA")) == 50, "fifty cards", drill.servers)
    cards = drill.cards_for("D0MINA")

    clicks = [asyncio.ensure_future(drill.approve(server, card)) for card in cards]
    await asyncio.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    answers = await asyncio.gather(*clicks)
    assert await server.process.wait() == 0, server.text()
    # Every click got an answer before the server stopped, or never reached it: no 5xx.
    assert all(a is None or a[0] == 200 for a in answers), answers
    acknowledged = sum(a is not None for a in answers)

    fresh = await drill.serve()
    for card, answer in zip(cards, answers, strict=True):
        if answer is None:  # Slack showed Mina an error; she clicks again
            again = await drill.approve(fresh, card)
            assert again is not None and again[0] == 200
    await until(
        lambda: all(drill.updates_of(c) for c in cards), "every card updated", drill.servers
    )
    actions = drill.ledger_actions()
    assert actions.count("approved") == 50, (acknowledged, actions.count("approved"))
    assert len(drill.cards_for("D0MINA")) == 50  # no card posted twice
    drill.verify()
