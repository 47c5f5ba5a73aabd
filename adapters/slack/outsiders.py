"""Stops commands, clicks and forms of accounts outside the installation's organisation.

Imports slack-bolt and our Slack modules; never `bot`. A bolt middleware, so it guards the
HTTP route and Socket Mode alike, before any listener reads a field. Who is outside is the
identity's question; the refusal is recorded and worded by the shell's `refuse`; this module
only finds what was attempted on what, and shows the answer where the person will see it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.actions import ButtonPress, read_button_press, text_at
from adapters.slack.blocks import escape
from adapters.slack.forms import press_from_form
from adapters.slack.identity import SlackIdentity
from adapters.slack.review_form import read_review_form
from workflows.machine_types import Outcome
from workflows.model import Actor

log = logging.getLogger("signoff.slack")

# (actor, what they attempted, (subject type, subject id), their organisation) -> the answer
RefuseOutsider = Callable[[Actor, str, tuple[str, str], str], Awaitable[Outcome]]


def _subject(body: dict[str, Any], team: str) -> tuple[str, str]:
    """The request or review the attempt was about, else the outsider's workspace."""
    press: ButtonPress | None = None
    if body.get("type") == "block_actions":
        found = read_button_press(body)
        press = found if isinstance(found, ButtonPress) else None
    elif body.get("type") == "view_submission":
        press = press_from_form(text_at(body, "view", "private_metadata"))
        review = read_review_form(body.get("view"))
        if review is not None:
            return ("review", review.review_id)
    if press is not None:
        return ("request", press.request_id)
    return ("slack-workspace", team[:64] or "unknown")


def _attempt(body: dict[str, Any]) -> tuple[str, str, str] | None:
    """(what, user id, user's workspace) for a command, click or form; None for the rest."""
    if isinstance(body.get("command"), str):
        return "slash-command", text_at(body, "user_id"), text_at(body, "team_id")
    kind = body.get("type")
    if kind not in ("block_actions", "view_submission"):
        return None
    team = text_at(body, "user", "team_id") or text_at(body, "team", "id")
    what = "button" if kind == "block_actions" else "form"
    return what, text_at(body, "user", "id"), team


def _notice(text: str) -> dict[str, Any]:
    """The modal a refused form submission turns into."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Signoff"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text[:3000]}}],
    }


def add_outsider_gate(bolt: AsyncApp, identity: SlackIdentity, refuse: RefuseOutsider) -> None:
    @bolt.middleware
    async def only_our_organisation(
        body: dict[str, Any], client: AsyncWebClient, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        attempt = _attempt(body)
        if attempt is None or not attempt[1]:
            await next_()
            return None
        what, user, team = attempt
        if not await identity.outsider(user, team or None):
            await next_()
            return None
        actor = Actor(person=None, platform="slack", platform_user_id=user)
        outcome = await refuse(actor, what, _subject(body, team), team or "unknown")
        if what == "slash-command":
            return BoltResponse(status=200, body=escape(outcome.message))
        if what == "form":
            return BoltResponse(
                status=200, body={"response_action": "update", "view": _notice(outcome.message)}
            )
        channel = text_at(body, "container", "channel_id") or text_at(body, "channel", "id")
        if channel:
            try:
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=escape(outcome.message)
                )
            except SlackApiError as error:
                log.warning("telling an outsider failed: %s", error.response.get("error"))
        return BoltResponse(status=200, body="")
