"""Slack's request form: opened for a request with arguments missing, redrawn, submitted.

Imports slack-bolt, our Slack modules and `workflows`; never `bot`. It translates and shows;
whether the person may ask, and for what, is decided by the engine on submission.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inbound import ChatShell
from adapters.slack.actions import dig, text_at
from adapters.slack.blocks import escape
from adapters.slack.forms import DEPLOY_FORM, SYSTEM_PICKED, picked, request_form, request_text
from adapters.slack.identity import SlackIdentity
from workflows.commands import OpenRequest
from workflows.grammar import GrammarError, RequestApproval, parse

log = logging.getLogger("signoff.slack")


async def open_request_form(
    client: AsyncWebClient, trigger_id: str, shell: ChatShell, parsed: RequestApproval
) -> None:
    """The form, filled with what the command already said."""
    form = request_form(
        shell.policy(),
        parsed.activity,
        parsed.system,
        parsed.version,
        parsed.environment,
        parsed.reason,
    )
    await _quietly(client.views_open(trigger_id=trigger_id, view=form))


def add_request_form(bolt: AsyncApp, identity: SlackIdentity, shell: ChatShell) -> None:
    @bolt.action(SYSTEM_PICKED)
    async def on_system_picked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        view_id = text_at(body, "view", "id")
        if not view_id:
            return
        values = dig(body, "view", "state", "values")
        system = picked(values, "system")
        actions = body.get("actions")
        if isinstance(actions, list) and actions:
            system = text_at(actions[0], "selected_option", "value") or system
        form = request_form(
            shell.policy(),
            picked(values, "activity") or None,
            system or None,
            picked(values, "version") or None,
            picked(values, "environment") or None,
            picked(values, "reason") or None,
        )
        view_hash = text_at(body, "view", "hash") or None
        await _quietly(client.views_update(view_id=view_id, hash=view_hash, view=form))

    @bolt.view(DEPLOY_FORM)
    async def on_request_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        values = dig(body, "view", "state", "values")
        try:
            parsed = parse(request_text(values))
        except GrammarError as error:
            await ack(response_action="errors", errors={"version": error.message[:150]})
            return
        if isinstance(parsed, RequestApproval) and parsed.system and not parsed.complete:
            await ack(response_action="errors", errors={"version": "A deployment needs a version."})
            return
        await ack()
        user_id = text_at(body, "user", "id")
        if not (isinstance(parsed, RequestApproval) and parsed.complete and user_id):
            log.info("a request form without a user, system or activity was ignored")
            return
        assert parsed.activity is not None and parsed.system is not None
        actor = await identity.actor(user_id, text_at(body, "user", "team_id") or None)
        outcome = await shell.dispatch(
            OpenRequest(
                request_id=shell.new_request_id(),
                actor=actor,
                system=parsed.system,
                activity=parsed.activity,
                version=parsed.version,
                environment=parsed.environment,
                reason=parsed.reason,
            ),
            # A form is submitted once; the same view again is a retry or a replay.
            ("slack", f"form:{view_id}") if (view_id := text_at(body, "view", "id")) else None,
        )
        if outcome.code == "duplicate":
            return
        await _quietly(
            client.chat_postMessage(channel=actor.platform_user_id, text=escape(outcome.message))
        )


async def _quietly(call: Awaitable[Any]) -> None:
    """A form shown or redrawn as a courtesy: its failure must not fail the request."""
    try:
        await call
    except SlackApiError as error:
        log.warning("Slack call for the request form failed: %s", error.response.get("error"))
