"""Slack over slack-bolt behind our authenticity gate: the slash command, buttons, reason form.

Imports `workflows`, slack-bolt and our Slack modules; never `bot`. Listeners translate a
payload into a command, hand it to `dispatch` (the shell's service) and show the outcome;
what may happen is decided by the engine, never here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inbound import ChatShell, ReviewShell
from adapters.port import RefusalCounter, ServiceUnavailable
from adapters.shell import answer_text_command, private_note
from adapters.slack.actions import ButtonPress, NotOurs, read_button_press, text_at
from adapters.slack.blocks import escape
from adapters.slack.forms import REASON_FORM, press_from_form, reason_form
from adapters.slack.gate import SignedRequest, slack_gate
from adapters.slack.identity import SlackIdentity
from adapters.slack.request_form import add_request_form, open_request_form
from adapters.slack.review_listeners import add_review_form, answer_review_command
from adapters.slack.shape import Triage, triage
from adapters.slack.signing import SigningSecrets
from workflows.commands import Answer
from workflows.grammar import GrammarError, ListReviews, RequestApproval, Review, parse

log = logging.getLogger("signoff.slack")

STALE_BUTTON = "This button is no longer active; see the latest version of the request."


def build_bolt(
    client: AsyncWebClient, identity: SlackIdentity, shell: ChatShell, reviews: ReviewShell
) -> AsyncApp:
    """The listeners; requests reach them only through our gate or a Socket Mode connection."""
    bolt = AsyncApp(
        client=client,
        # Our gate has verified the signature (with rotation, SIG-16) before bolt sees a byte;
        # Socket Mode frames carry none. Bolt's own check would refuse the previous secret.
        request_verification_enabled=False,
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    @bolt.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        if isinstance(error, ServiceUnavailable):
            # Nothing was recorded; Slack shows the person that it failed, so they try again.
            return BoltResponse(status=503, body="")
        # A payload of a shape the listeners did not expect: refused, never a 500.
        kind = (body.get("type") or body.get("command")) if isinstance(body, dict) else None
        log.error("a Slack request (%s) could not be handled", kind, exc_info=error)
        return BoltResponse(status=400, body="")

    add_review_form(bolt, identity, reviews)
    add_request_form(bolt, identity, shell)

    @bolt.command("/signoff")
    async def on_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = text_at(command, "user_id")
        if not user_id:
            await ack(text="Slack did not say who sent this command, so Signoff ignored it.")
            return
        actor = await identity.actor(user_id, text_at(command, "team_id") or None)
        try:
            parsed = parse(text_at(command, "text"))
        except GrammarError as error:
            await ack(text=escape(error.message))
            return
        # A retried or replayed command carries the same trigger_id: one invocation, one
        # request (clicks are deduplicated likewise, on their own ids).
        trigger_id = text_at(command, "trigger_id")
        delivery = ("slack", f"command:{text_at(command, 'team_id')}:{trigger_id}")
        reply = await answer_text_command(shell, actor, parsed, delivery if trigger_id else None)
        if reply is not None:
            await ack(text=escape(reply))
            return
        match parsed:
            case RequestApproval():
                await ack()
                if trigger := text_at(command, "trigger_id"):
                    await open_request_form(client, trigger, shell, parsed)
            case Review() | ListReviews():
                trigger = text_at(command, "trigger_id")
                await answer_review_command(parsed, trigger, ack, client, reviews, actor.person)
            case _:
                await ack(text="That command is not available in this version of Signoff yet.")

    # Buttons on cards; the request form's own actions have listeners of their own.
    @bolt.action({"action_id": re.compile(r"^signoff\.(?!form\.)")})
    async def on_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        press = read_button_press(body)
        if isinstance(press, NotOurs):
            await _tell(client, body, STALE_BUTTON)
            return
        if press.needs_comment and press.trigger_id:
            await _quietly(client.views_open(trigger_id=press.trigger_id, view=reason_form(press)))
            return
        await _answer(press, None, client)

    @bolt.view(REASON_FORM)
    async def on_reason(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        comment = text_at(body, "view", "state", "values", "reason", "text", "value")
        if not comment:
            await ack(response_action="errors", errors={"reason": "Please say why."})
            return
        await ack()
        press = press_from_form(text_at(body, "view", "private_metadata"))
        if press is not None:
            await _answer(press, comment, client)

    async def _answer(press: ButtonPress, comment: str | None, client: AsyncWebClient) -> None:
        actor = await identity.actor(press.user_id, press.team_id)
        command = Answer(
            request_id=press.request_id,
            actor=actor,
            verdict=press.verdict,
            revision=press.revision,
            comment=comment,
            location=press.location,
        )
        outcome = await shell.dispatch(command, ("slack", press.delivery_key))
        if (note := private_note(outcome)) is not None:
            await _quietly(
                client.chat_postEphemeral(
                    channel=press.location["channel"], user=press.user_id, text=escape(note)
                )
            )

    async def _tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
        channel = text_at(body, "container", "channel_id")
        user = text_at(body, "user", "id")
        if channel and user:
            await _quietly(client.chat_postEphemeral(channel=channel, user=user, text=text))

    return bolt


async def _quietly(call: Awaitable[Any]) -> None:
    """A courtesy message after the click was handled; its failure must not fail the click."""
    try:
        await call
    except SlackApiError as error:
        log.warning("Slack call after a click failed: %s", error.response.get("error"))


def slack_route(
    bolt: AsyncApp,
    secrets: SigningSecrets,
    clock: Callable[[], float],
    count_refusal: RefusalCounter,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The `/slack/events` handler: our gate first, then bolt with the very same bytes."""

    async def to_bolt(request: web.Request, signed: SignedRequest) -> web.StreamResponse:
        match triage(signed.form, signed.payload):
            case Triage.MALFORMED:
                count_refusal(400, "shape")
                log.warning("refused a signed Slack request of an unexpected shape (400)")
                return web.json_response({"error": "bad request"}, status=400)
            case Triage.NOT_OURS:
                # Signed, but nothing Signoff listens to (another app's button, an event it
                # never asked for): acknowledged, so Slack neither retries nor shows an error.
                log.info("acknowledged and ignored a Slack request Signoff does not handle")
                return web.Response(status=200)
        bolt_request = AsyncBoltRequest(
            body=signed.body.decode("utf-8"),
            query=request.query_string,
            headers={k: request.headers.getall(k) for k in request.headers},
        )
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return slack_gate(secrets, clock, to_bolt, count_refusal)
