"""The scenario table's Teams driver: activities to `/api/messages` with RS256 tokens from the
local key server, the Bot Connector stand-in behind, people found by their Entra object ids."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.teams.request_form import ASK_VERB
from adapters.teams.review_card import COMPLETE_VERB
from tests.harness import Harness
from tests.scenarios.driver import request_ids
from tests.teams_standin import TENANT, Call
from tests.teams_world import GOV_CHANNEL, TeamsWorld, open_teams_world, teams_policy

TEAM_CHANNEL = "19:general@thread.tacv2"


def content(call: Call) -> dict[str, Any]:
    return dict(call.body["attachments"][0]["content"])


def texts(card: dict[str, Any]) -> list[str]:
    return [
        run["text"]
        for block in card["body"]
        if block["type"] == "RichTextBlock"
        for run in block["inlines"]
    ]


def is_review(card: dict[str, Any]) -> bool:
    return texts(card)[0].startswith("The risk review of")


def note_of(card: dict[str, Any]) -> str | None:
    """The line only the presser sees: the card's second block, in bold."""
    run = card["body"][1]["inlines"][0] if card["body"][1]["type"] == "RichTextBlock" else {}
    return str(run["text"]) if run.get("weight") == "Bolder" else None


def has_form(card: dict[str, Any]) -> bool:
    return any(a.get("verb") == COMPLETE_VERB for a in card.get("actions", []))


class TeamsDriver:
    platform = "teams"

    def __init__(self, world: TeamsWorld) -> None:
        self.world = world
        self.h: Harness = world.h
        self.connector = world.connector

    async def say(self, person: str, text: str) -> str:
        return "\n".join(await self.world.say(person, text))

    async def press(
        self,
        person: str,
        request_id: str,
        verdict: str,
        reason: str | None = None,
        card_of: str | None = None,
    ) -> str | None:
        cards = [c for c in self._cards(card_of or person) if request_id in request_ids(content(c))]
        assert cards, f"{person} has no card of {request_id} in Teams"
        status, body = await self.world.press(person, cards[-1], f"signoff.{verdict}", reason)
        assert status == 200 and body["statusCode"] == 200, body
        return note_of(body["value"])

    async def request_form(self, person: str, text: str) -> Call:
        before = len(self._replies(person))
        await self.world.say(person, text)
        (card,) = self._replies(person)[before:]
        return card

    async def send_request_form(self, person: str, card: Call, fields: dict[str, str]) -> str:
        invoke = self.world.invoke(person, card, ASK_VERB)
        invoke["value"]["action"]["data"] |= fields
        response = await self.world.send(invoke)
        assert response.status == 200
        answer = (await response.json())["value"]
        return texts(answer)[1]

    async def review_form(self, person: str, system: str) -> Call:
        sent = [c for c in self._cards(person) if is_review(content(c)) and has_form(content(c))]
        if sent:
            return sent[-1]
        before = len(self._replies(person))
        assert await self.world.say(person, f"review {system}") in ([], [""])
        (card,) = self._replies(person)[before:]
        return card

    async def submit_review(
        self, person: str, card: Call, checked: tuple[str, ...], notes: str
    ) -> str | None:
        invoke = self.world.invoke(person, card, COMPLETE_VERB, None)
        data = invoke["value"]["action"]["data"]
        for item in _toggles(content(card)):
            data[item["id"]] = item["valueOn"] if item["title"] in checked else item["valueOff"]
        data["notes"] = notes
        response = await self.world.send(invoke)
        assert response.status == 200
        answer = (await response.json())["value"]
        # Taken: the card shows the review completed, with the engine's confirmation.
        done = not has_form(answer) and any(t.startswith("Completed by") for t in texts(answer))
        return None if done else note_of(answer)

    def cards_to(self, person: str) -> list[str]:
        cards = [content(c) for c in self._cards(person)]
        return [request_ids(card)[0] for card in cards if not is_review(card)]

    def notices_to(self, person: str) -> list[str]:
        posts = self.connector.posts(self.world.chat_of(person))
        return [_shown(p) for p in posts if not _is_request_card(p)]

    def channel_notices(self) -> list[str]:
        return [_shown(p) for p in self.connector.posts(GOV_CHANNEL)]

    def review_actionable(self, person: str) -> bool:
        reviews = [content(c) for c in self._cards(person) if is_review(content(c))]
        return bool(reviews) and has_form(reviews[-1])

    def _cards(self, person: str) -> list[Call]:
        return self.connector.cards(self.world.chat_of(person))

    def _replies(self, person: str) -> list[Call]:
        prefix = f"/v3/conversations/{self.world.personal(person)}/activities/"
        return [
            c
            for c in self.connector.calls
            if c.method == "POST" and c.path.startswith(prefix) and c.body.get("attachments")
        ]


def _toggles(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in card["body"] if b["type"] == "Input.Toggle"]


def _is_request_card(call: Call) -> bool:
    return bool(call.body.get("attachments")) and not is_review(content(call))


def _shown(call: Call) -> str:
    """A notice's text, or a card's summary (the notification text Teams shows)."""
    return str(call.body.get("text") or call.body.get("summary") or "")


@contextlib.asynccontextmanager
async def teams_driver(
    engine: AsyncEngine, change: Callable[[dict[str, Any]], None]
) -> AsyncIterator[TeamsDriver]:
    def on_teams(raw: dict[str, Any]) -> None:
        change(raw)
        teams_policy(raw)

    async with open_teams_world(engine, on_teams) as world:
        # The app installed in the organisation's team: the tenant's service URL is known.
        installed = world.activity(
            "cdao", kind="installationUpdate", conversation=TEAM_CHANNEL, action="add"
        )
        installed["conversation"]["tenantId"] = TENANT
        assert (await world.send(installed)).status in (200, 201, 202)
        yield TeamsDriver(world)
