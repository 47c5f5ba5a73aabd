"""Slack's side of risk reviews: `/signoff review`, `/signoff reviews` and the review form.

Imports slack-bolt, our Slack modules and `workflows`; never `bot`. It translates and shows;
whether a person may complete a review is decided by the engine when the form is submitted.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.inbound import ReviewShell
from adapters.slack.actions import text_at
from adapters.slack.blocks import escape
from adapters.slack.identity import SlackIdentity
from adapters.slack.review_form import REVIEW_FORM, read_review_form, review_form
from workflows.grammar import ListReviews, Review
from workflows.reviews import CompleteReview


async def answer_review_command(
    parsed: Review | ListReviews,
    trigger_id: str,
    ack: AsyncAck,
    client: AsyncWebClient,
    shell: ReviewShell,
    person: str | None,
) -> None:
    if isinstance(parsed, ListReviews):
        await ack(text=escape(await shell.list_text(person)))
        return
    policy = shell.policy()
    if parsed.system not in policy.systems:
        known = ", ".join(sorted(policy.systems))
        await ack(text=escape(f"There is no AI system '{parsed.system}'. Known: {known}."))
        return
    review = await shell.open_review(parsed.system)
    if review is None:
        await ack(
            text=escape(
                f"No risk review of {parsed.system} is scheduled yet; the next sweep "
                "schedules it within a minute."
            )
        )
        return
    await ack()
    if trigger_id:
        await client.views_open(trigger_id=trigger_id, view=review_form(review, policy))


def add_review_form(bolt: AsyncApp, identity: SlackIdentity, shell: ReviewShell) -> None:
    @bolt.view(REVIEW_FORM)
    async def on_review(ack: AsyncAck, body: dict[str, Any]) -> None:
        submission = read_review_form(body.get("view"))
        user_id = text_at(body, "user", "id")
        if submission is None or not user_id:
            await ack(response_action="errors", errors={"notes": "This form is not valid."})
            return
        actor = await identity.actor(user_id, text_at(body, "user", "team_id") or None)
        outcome = await shell.dispatch(
            CompleteReview(
                review_id=submission.review_id,
                actor=actor,
                checked=submission.checked,
                notes=submission.notes,
                revision=submission.revision,
                next_review_id=shell.new_review_id(),
            )
        )
        if outcome.ok:
            await ack()
        else:
            await ack(response_action="errors", errors={"notes": outcome.message[:150]})
