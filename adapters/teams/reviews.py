"""Teams' side of risk reviews: `reviews`, `review <system>` and the review card's actions.

Imports `workflows` and our Teams modules; never `bot`. It translates and shows, as Slack's
review listeners do: whether a person may complete a review is decided by the engine when
the card's button is pressed, and a refusal is shown to the presser alone, on the card as it
is now (a stale card is replaced by the current one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.inbound import ReviewShell
from adapters.teams.mris import UserMris
from adapters.teams.review_card import (
    COMPLETE_VERB,
    NOTES_INPUT,
    read_checked,
    review_card,
)
from workflows.grammar import ListReviews, Review
from workflows.model import Actor
from workflows.policy import Policy
from workflows.review_machine import may_complete
from workflows.reviews import CompleteReview, RiskReview

REVIEW_ID = re.compile(r"^V[0-9A-Z]{6,26}$")


@dataclass(frozen=True)
class ReviewAction:
    """A press on a review card: which review, the revision seen, and what was filled in."""

    verb: str
    review_id: str
    revision: int
    checked: tuple[str, ...]
    notes: str | None


def read_review_action(verb: str | None, data: Mapping[str, Any]) -> ReviewAction | None:
    """The action, or None when the data is not what a Signoff review card sends."""
    review_id, revision = data.get("v"), data.get("n")
    if not (
        isinstance(verb, str)
        and isinstance(review_id, str)
        and REVIEW_ID.match(review_id)
        and type(revision) is int
    ):
        return None
    notes = data.get(NOTES_INPUT)
    return ReviewAction(
        verb,
        review_id,
        revision,
        read_checked(data),
        notes.strip() or None if isinstance(notes, str) else None,
    )


class TeamsReviews:
    """What a message or a card press about a review becomes: a reply, or a card."""

    def __init__(self, shell: ReviewShell, mris: UserMris) -> None:
        self.shell = shell
        self.mris = mris

    async def answer_command(
        self, parsed: Review | ListReviews, person: str | None
    ) -> str | dict[str, Any]:
        """The reply to `reviews` or `review <system>`: Slack's words, or the review's card
        with its form (Slack opens the form as a modal)."""
        if isinstance(parsed, ListReviews):
            return await self.shell.list_text(person)
        policy = self.shell.policy()
        if parsed.system not in policy.systems:
            known = ", ".join(sorted(policy.systems))
            return f"There is no AI system '{parsed.system}'. Known: {known}."
        review = await self.shell.open_review(parsed.system)
        if review is None:
            return (
                f"No risk review of {parsed.system} is scheduled yet; the next sweep "
                "schedules it within a minute."
            )
        return self._card(review, policy, None)

    async def act(self, action: ReviewAction, actor: Actor) -> dict[str, Any] | None:
        """The card the presser sees after `action`: the review as it is now, with what the
        engine said to them; None when there is no such review."""
        said = None
        if action.verb == COMPLETE_VERB:
            outcome = await self.shell.dispatch(
                CompleteReview(
                    review_id=action.review_id,
                    actor=actor,
                    checked=action.checked,
                    notes=action.notes,
                    revision=action.revision,
                    next_review_id=self.shell.new_review_id(),
                )
            )
            said = outcome.message
        review = await self.shell.review(action.review_id)
        if review is None:
            return None
        return self._card(review, self.shell.policy(), said)

    def _card(self, review: RiskReview, policy: Policy, note: str | None) -> dict[str, Any]:
        # Only the MRIs already known: the person waits on this answer, not on look-ups.
        mris = self.mris.known(completer_ids(review, policy))
        return review_card(review, policy, form=True, user_mris=mris, note=note)


def completer_ids(review: RiskReview, policy: Policy) -> dict[str, str]:
    """The Teams ids the policy gives those who may complete `review` now."""
    people = policy.people
    allowed = may_complete(review, policy)
    return {p: str(people[p].teams) for p in allowed if p in people and people[p].teams}
