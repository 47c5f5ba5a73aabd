"""The Teams activity handler: messages, `Action.Execute` invokes and install events.

Imports `workflows`, the Agents SDK and our Teams modules; never `bot`. It translates an
activity into a command, hands it to the shell and renders the outcome: a reply, or for a
card action the card as the person should now see it, with any refusal shown only to them.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import aiohttp
from microsoft_agents.activity import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    InvokeResponse,
)
from microsoft_agents.hosting.core import ActivityHandler, TurnContext
from pydantic import ValidationError

from adapters.inbound import ChatShell, ReviewShell
from adapters.shell import (
    REQUEST_ID,
    answer_text_command,
    incomplete_request,
    private_note,
)
from adapters.teams.cards import REFRESH_VERB, VERB_PREFIX, adaptive_card, attachment
from adapters.teams.directory import ConversationRef, Directory
from adapters.teams.identity import TeamsIdentity
from adapters.teams.mris import UserMris, answerer_ids
from adapters.teams.request_form import ASK_VERB, filled_from, request_form_card, send_form
from adapters.teams.review_card import REVIEW_VERBS
from adapters.teams.reviews import TeamsReviews, read_review_action
from workflows.cards import CardView
from workflows.commands import Answer
from workflows.grammar import GrammarError, ListReviews, RequestApproval, Review, parse
from workflows.model import Verdict

log = logging.getLogger("signoff.teams")

CARD = "application/vnd.microsoft.card.adaptive"
_REQUEST_ID = re.compile(f"^{REQUEST_ID}$")
_MENTION = re.compile(r"<at>[^<]*</at>")
_VERDICTS = {VERB_PREFIX + verdict.value: verdict for verdict in Verdict}


class SignoffAgent(ActivityHandler):
    def __init__(
        self,
        shell: ChatShell,
        identity: TeamsIdentity,
        directory: Directory,
        tenant_id: str,
        mris: UserMris,
        reviews: ReviewShell,
    ) -> None:
        self.shell = shell
        self.reviews = TeamsReviews(reviews, mris)
        self.identity = identity
        self.directory = directory
        self.mris = mris
        # The route lets through only activities of this tenant, so every one is of it.
        self.tenant_id = tenant_id

    async def on_turn(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        self.mris.learn(turn_context.activity)
        await self.directory.remember(await self._reference(turn_context.activity))
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:  # type: ignore[override]
        activity = turn_context.activity
        text = _MENTION.sub("", activity.text or "").strip()
        actor = await self.identity.actor(activity)
        try:
            parsed = parse(text)
        except GrammarError as error:
            await _reply(turn_context, error.message)
            return
        delivery = ("teams", activity.id) if activity.id else None
        reply = await answer_text_command(self.shell, actor, parsed, delivery)
        if reply is None:
            match parsed:
                case RequestApproval():
                    # The usage, and the form Slack would open, filled with what was said.
                    card = request_form_card(self.shell.policy(), filled_from(parsed))
                    await _reply(turn_context, _card_message(card, incomplete_request(parsed)))
                    return
                case Review() | ListReviews():
                    answer = await self.reviews.answer_command(parsed, actor.person)
                    if not isinstance(answer, str):
                        await _reply(turn_context, _card_message(answer))
                        return
                    reply = answer
                case _:
                    reply = "That command is not available in this version of Signoff yet."
        if reply:
            await _reply(turn_context, reply)

    async def on_invoke_activity(  # type: ignore[override]
        self, turn_context: TurnContext
    ) -> InvokeResponse | None:
        activity = turn_context.activity
        if activity.name != "adaptiveCard/action":
            # Sign-in, task modules, message extensions: Signoff offers none of them. A clear
            # "bad request" stops Teams retrying, where the SDK's 501 would look like our fault.
            log.info("ignored a Teams invoke Signoff does not offer: %r", activity.name)
            return InvokeResponse(status=int(HTTPStatus.BAD_REQUEST))
        # Parsed here rather than by the SDK, whose error answer for a bad value is itself a 500.
        try:
            value = AdaptiveCardInvokeValue.model_validate(activity.value)
        except (ValidationError, TypeError, ValueError):
            value = None
        if value is None or value.action is None or value.action.type != "Action.Execute":
            answer = _error(HTTPStatus.BAD_REQUEST, "This is not a Signoff card action.")
        else:
            answer = await self.on_adaptive_card_invoke(turn_context, value)
        body = answer.model_dump(mode="json", by_alias=True, exclude_none=True)
        return InvokeResponse(status=int(HTTPStatus.OK), body=body)

    async def on_adaptive_card_invoke(  # type: ignore[override]
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        activity = turn_context.activity
        action = invoke_value.action
        data: dict[str, Any] = action.data if action and isinstance(action.data, dict) else {}
        verb = action.verb if action else None
        if verb in REVIEW_VERBS:
            return await self._review_action(turn_context, verb, data)
        if verb == ASK_VERB:
            actor = await self.identity.actor(activity)
            delivery = ("teams", activity.id) if activity.id else None
            card = await send_form(self.shell, actor, data, delivery)
            return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card)
        request_id, revision = data.get("r"), data.get("v")
        if not (
            isinstance(request_id, str)
            and _REQUEST_ID.match(request_id)
            and isinstance(revision, int)
            and (verb == REFRESH_VERB or verb in _VERDICTS)
        ):
            return _error(HTTPStatus.BAD_REQUEST, "This is not a Signoff card action.")
        actor = await self.identity.actor(activity)
        note = None
        view: CardView | None
        if verb in _VERDICTS:
            comment = data.get("comment")
            command = Answer(
                request_id=request_id,
                actor=actor,
                verdict=_VERDICTS[verb],
                revision=revision,
                comment=comment.strip() or None if isinstance(comment, str) else None,
                location=_location(activity),
            )
            delivery = ("teams", activity.id) if activity.id else None
            outcome, view = await self.shell.answer_on_card(command, delivery, actor.person)
            note = private_note(outcome)
        else:
            view = await self.shell.card_for(request_id, actor.person)
        if view is None:
            return _error(HTTPStatus.NOT_FOUND, f"There is no request {request_id}.")
        # Only the MRIs already known: the person waits on this answer, not on look-ups.
        mris = self.mris.known(answerer_ids(view, self.shell.policy()))
        card = adaptive_card(view, mris, note)
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card)

    async def _review_action(
        self, turn_context: TurnContext, verb: str | None, data: dict[str, Any]
    ) -> AdaptiveCardInvokeResponse:
        action = read_review_action(verb, data)
        if action is None:
            return _error(HTTPStatus.BAD_REQUEST, "This is not a Signoff card action.")
        actor = await self.identity.actor(turn_context.activity)
        card = await self.reviews.act(action, actor)
        if card is None:
            return _error(HTTPStatus.NOT_FOUND, f"There is no review {action.review_id}.")
        return AdaptiveCardInvokeResponse(status_code=200, type=CARD, value=card)

    async def _reference(self, activity: Activity) -> ConversationRef:
        conversation = activity.conversation
        sender = activity.from_property
        kind = (conversation.conversation_type if conversation else None) or "personal"
        user = (sender.aad_object_id or sender.id) if sender else None
        person = None
        if kind == "personal" and user:
            person = (await self.identity.actor(activity)).person
        return ConversationRef(
            conversation_id=conversation.id if conversation else "",
            service_url=activity.service_url or "",
            tenant_id=self.tenant_id,
            kind=kind,
            user_id=user if kind == "personal" else None,
            person=person,
        )


def _card_message(card: dict[str, Any], text: str = "") -> Activity:
    """A card, with `text` above it (plain: it may quote what someone typed)."""
    message: dict[str, Any] = {"type": "message", "attachments": [attachment(card)]}
    if text:
        message |= {"text": text, "textFormat": "plain"}
    return Activity.model_validate(message)


async def _reply(turn_context: TurnContext, reply: str | Activity) -> None:
    """A reply after the command was handled; its failure must not fail the activity."""
    try:
        await turn_context.send_activity(reply)
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("a Teams reply could not be sent (%s); the command itself was handled", error)


def _location(activity: Activity) -> dict[str, str] | None:
    """Where the card that was clicked lives, as the relay recorded it when posting it.

    A card posted to a channel starts a thread, and a press on it names the thread
    (`19:...@thread.tacv2;messageid=...`): the card itself is the channel's copy.
    """
    if not (activity.reply_to_id and activity.conversation and activity.service_url):
        return None
    return {
        "service_url": activity.service_url,
        "conversation": activity.conversation.id.split(";messageid=", 1)[0],
        "activity": activity.reply_to_id,
    }


def _error(status: HTTPStatus, message: str) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(
        status_code=int(status),
        type="application/vnd.microsoft.error",
        value={"code": status.phrase.replace(" ", ""), "message": message},
    )
