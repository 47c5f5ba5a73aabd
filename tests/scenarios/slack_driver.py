"""The scenario table's Slack driver: signed requests to `/slack/events`, the Web API stand-in
behind, people found by their Slack ids (`U0MINA`, direct messages `D0MINA`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.harness import Harness, build_policy
from tests.scenarios.driver import plain, request_ids
from tests.slack_standin import Call, SlackStandIn
from tests.slack_world import SlackWorld, slack_world

CHANNEL = "C0GOV"


def user(person: str) -> str:
    return f"U0{person.upper()}"


def dm(person: str) -> str:
    return f"D0{person.upper()}"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class SlackDriver:
    platform = "slack"

    def __init__(self, world: SlackWorld) -> None:
        self.world = world
        self.h: Harness = world.h
        self.standin = world.standin

    async def say(self, person: str, text: str) -> str:
        return plain(await self.world.command(user(person), text))

    async def press(
        self,
        person: str,
        request_id: str,
        verdict: str,
        reason: str | None = None,
        card_of: str | None = None,
    ) -> str | None:
        card = self._card(card_of or person, request_id)
        told = len(self._ephemerals(person))
        forms = len(self.standin.called("views.open"))
        assert await self.world.click(user(person), card, verdict) == 200
        if reason is not None:
            (opened,) = self.standin.called("views.open")[forms:]
            form = _json(opened.args["view"])
            values = {"reason": {"text": {"type": "plain_text_input", "value": reason}}}
            answer = await self.world.post(_submission(person, form, values))
            assert answer.status == 200
        notes = self._ephemerals(person)[told:]
        return plain(notes[-1]) if notes else None

    async def request_form(self, person: str, text: str) -> dict[str, Any]:
        forms = len(self.standin.called("views.open"))
        assert await self.say(person, text) == ""
        (opened,) = self.standin.called("views.open")[forms:]
        return dict(_json(opened.args["view"]))

    async def send_request_form(
        self, person: str, form: dict[str, Any], fields: dict[str, str]
    ) -> str:
        def chosen(value: str) -> dict[str, Any]:
            return {"value": {"type": "static_select", "selected_option": {"value": value}}}

        def typed(value: str | None) -> dict[str, Any]:
            return {"value": {"type": "plain_text_input", "value": value}}

        values = {
            "system": chosen(fields["system"]),
            "activity.any": chosen(fields["activity"]),
            **{k: typed(fields.get(k)) for k in ("version", "environment", "reason")},
        }
        told = len(self._posts(user(person)))
        answer = await self.world.post(_submission(person, form, values))
        assert answer.status == 200
        if body := await answer.text():
            return plain(next(iter(json.loads(body)["errors"].values())))
        (said,) = self._posts(user(person))[told:]
        return plain(said.args["text"])

    async def review_form(self, person: str, system: str) -> dict[str, Any]:
        forms = len(self.standin.called("views.open"))
        shown = await self.say(person, f"review {system}")
        assert shown == "", shown
        (opened,) = self.standin.called("views.open")[forms:]
        return dict(_json(opened.args["view"]))

    async def submit_review(
        self, person: str, form: dict[str, Any], checked: tuple[str, ...], notes: str
    ) -> str | None:
        options = [{"text": {"type": "plain_text", "text": c}, "value": c} for c in checked]
        values = {
            "checklist": {"value": {"type": "checkboxes", "selected_options": options}},
            "notes": {"value": {"type": "plain_text_input", "value": notes}},
        }
        answer = await self.world.post(_submission(person, form, values))
        assert answer.status == 200
        body = await answer.text()
        return plain(json.loads(body)["errors"]["notes"]) if body else None

    def cards_to(self, person: str) -> list[str]:
        return [rid for post in self._posts(dm(person)) if "blocks" in post.args
                for rid in request_ids(post.args["blocks"])[:1]]  # fmt: skip

    def notices_to(self, person: str) -> list[str]:
        return [plain(p.args["text"]) for p in self._posts(dm(person)) if "blocks" not in p.args]

    def channel_notices(self) -> list[str]:
        return [plain(p.args["text"]) for p in self._posts(CHANNEL)]

    def review_actionable(self, person: str) -> bool:
        # In Slack a review is completed in the form `/signoff review <system>` opens, which
        # anyone told of the review can type; the notice is text.
        return any("risk review" in t for t in self.notices_to(person))

    def _posts(self, channel: str) -> list[Call]:
        return [c for c in self.standin.called("chat.postMessage") if c.args["channel"] == channel]

    def _card(self, person: str, request_id: str) -> Call:
        cards = [p for p in self._posts(dm(person)) if request_id in str(p.args.get("blocks"))]
        assert cards, f"{person} has no card of {request_id} in Slack"
        return cards[-1]

    def _ephemerals(self, person: str) -> list[str]:
        return [
            c.args["text"]
            for c in self.standin.called("chat.postEphemeral")
            if c.args["user"] == user(person)
        ]


def _submission(person: str, form: dict[str, Any], values: dict[str, Any]) -> bytes:
    payload = {
        "type": "view_submission",
        "user": {"id": user(person), "team_id": "T0ACME"},
        "team": {"id": "T0ACME"},
        "view": {
            "type": "modal",
            "id": "V0FORM",
            "callback_id": form["callback_id"],
            "private_metadata": form.get("private_metadata", ""),
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@contextlib.asynccontextmanager
async def slack_driver(
    engine: AsyncEngine, change: Callable[[dict[str, Any]], None]
) -> AsyncIterator[SlackDriver]:
    async with slack_world(engine, SlackStandIn()) as world:
        world.h.policies.replace(build_policy(change))
        yield SlackDriver(world)
