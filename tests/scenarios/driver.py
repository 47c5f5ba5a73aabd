"""The one small protocol a platform's driver offers the scenario table, and what they share.

A driver acts as the platform would (signed Slack requests, Teams activities with RS256
tokens) and reads back what people were shown; the table states what should happen once.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, Protocol

from bot.scheduling.sweep import run_sweep
from tests.harness import Harness

REQUEST_ID = re.compile(r"\bR[0-9A-Z]{12}\b")


class ChatDriver(Protocol):
    platform: str
    h: Harness

    async def say(self, person: str, text: str) -> str:
        """What `person` is shown, only to them, after writing `text` to Signoff."""

    async def press(
        self,
        person: str,
        request_id: str,
        verdict: str,
        reason: str | None = None,
        card_of: str | None = None,
    ) -> str | None:
        """`person` presses `verdict` (approve, reject, no-objection, concern) on the card of
        `request_id` they were sent (or `card_of` someone else was sent, shown to them); what
        was shown to them alone, or None."""

    async def request_form(self, person: str, text: str) -> Any:
        """The form `person` is given for `text`, a request with arguments missing."""

    async def send_request_form(self, person: str, form: Any, fields: dict[str, str]) -> str:
        """`person` fills in `form` (system, activity, version, environment, reason) and
        sends it: what they are told, an error in the form or what the engine said."""

    async def review_form(self, person: str, system: str) -> Any:
        """The review form `person` has of `system`: the review card they were sent where the
        platform sends one (Teams), else what `review <system>` opens."""

    async def submit_review(
        self, person: str, form: Any, checked: tuple[str, ...], notes: str
    ) -> str | None:
        """`person` fills in `form` and submits it: the refusal shown to them alone, or None
        when it was taken."""

    def cards_to(self, person: str) -> list[str]:
        """The ids of the requests whose card `person` was sent, in order."""

    def notices_to(self, person: str) -> list[str]:
        """The texts of everything else `person` was sent (notices, review cards)."""

    def channel_notices(self) -> list[str]:
        """What the Informed channel #ai-governance was sent, cards included."""

    def review_actionable(self, person: str) -> bool:
        """Whether the last review message `person` got lets them complete the review: a card
        with the form (Teams), or the command that opens it (Slack)."""


async def complete_review(
    driver: ChatDriver, person: str, system: str, checked: tuple[str, ...], notes: str
) -> str | None:
    form = await driver.review_form(person, system)
    return await driver.submit_review(person, form, checked, notes)


async def sweep(driver: ChatDriver, at: datetime) -> None:
    """The scheduler's sweep at injected time `at`, then every message delivered."""
    driver.h.clock.now = at
    await run_sweep(driver.h.runtime(), at)
    await driver.h.settle()


def plain(text: str) -> str:
    """Slack's escaped text (`&lt;env&gt;`) as the person reads it."""
    return html.unescape(text)


def request_ids(value: Any) -> list[str]:
    """Request ids anywhere in a JSON value, in order of appearance, each once."""
    found = REQUEST_ID.findall(str(value))
    return list(dict.fromkeys(found))
