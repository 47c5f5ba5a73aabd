"""The chat scenarios every platform must pass, stated once; `test_scenarios.py` runs each on
Slack and on Teams through their drivers.

The policy is the tests' own with a `risk-review` RACI for credit-scoring (Responsible Soo,
Accountable Mina, Jae and Lee, backup Ada Chief, Informed #ai-governance). What must happen
(the ledger, who was sent what) and the words people read are written here, not per platform;
replies the platforms must word alike are compared with what the core says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.harness import CHECKLIST, T0
from tests.scenarios.driver import ChatDriver, complete_review, sweep
from workflows.grammar import GrammarError, help_text, parse
from workflows.model import Status
from workflows.wording import raci_text

APPROVERS = ("mina", "jae", "lee")


def scenario_policy(raw: dict[str, Any]) -> None:
    raw["systems"]["credit-scoring"]["raci"]["risk-review"] = {
        "responsible": ["ml-engineer"],
        "accountable": "ai-governance-lead",
        "informed": ["#ai-governance"],
    }


async def ask(d: ChatDriver, text: str, person: str = "soo") -> str:
    reply = await d.say(person, text)
    assert reply.startswith("Request R"), reply
    await d.h.settle()
    return reply.split()[1]


async def subject_actions(d: ChatDriver, subject: str) -> list[str]:
    return await d.h.actions(subject)


def told(texts: list[str], words: str) -> bool:
    return any(words in text for text in texts)


async def asking(d: ChatDriver) -> None:
    reply = await d.say("soo", "deploy doc-search 2.3.1 to prod -- weekly refresh")
    assert "is open; asked Mina Park, Jae Kim and Lee Cho to approve" in reply
    request_id = reply.split()[1]
    await d.h.settle()
    for person in APPROVERS:
        assert d.cards_to(person) == [request_id], person
    assert d.cards_to("soo") == [] and d.cards_to("out") == []
    assert await subject_actions(d, request_id) == ["requested"]


async def asking_through_the_form(d: ChatDriver) -> None:
    form = await d.request_form("soo", "deploy")
    chosen = {"system": "doc-search", "activity": "deploy"}
    assert await d.send_request_form("soo", form, chosen) == "A deployment needs a version."
    told = await d.send_request_form(
        "soo", form, chosen | {"version": "2.3.1", "environment": "prod"}
    )
    assert "is open; asked Mina Park, Jae Kim and Lee Cho to approve" in told, told
    request_id = told.split()[1]
    await d.h.settle()
    assert d.cards_to("mina") == [request_id]
    assert (await d.h.state(request_id)).environment == "prod"
    assert await subject_actions(d, request_id) == ["requested"]


async def consulting_and_quorum(d: ChatDriver) -> None:
    request_id = await ask(d, "deploy credit-scoring 2.3.1 to prod -- quarterly retrain")
    assert d.cards_to("dan") == [request_id]  # Consulted
    early = await d.press("mina", request_id, "approve")
    assert early is not None and "requires consultation first: waiting for Dan Ruiz" in early
    assert await d.press("dan", request_id, "no-objection") is None
    assert await d.press("mina", request_id, "approve") is None
    assert (await d.h.state(request_id)).status is Status.PENDING  # one of two
    assert await d.press("jae", request_id, "approve") is None
    await d.h.settle()
    assert (await d.h.state(request_id)).status is Status.APPROVED
    assert told(d.notices_to("soo"), "approved by Mina Park and Jae Kim")
    assert await subject_actions(d, request_id) == [
        "requested", "denied", "consulted", "voted", "approved",
    ]  # fmt: skip


async def rejecting_with_a_reason(d: ChatDriver) -> None:
    request_id = await ask(d, "deploy support-bot 1.4.0 -- new prompts")
    assert await d.press("lee", request_id, "reject", reason="bias audit missing") is None
    await d.h.settle()
    state = await d.h.state(request_id)
    assert state.status is Status.REJECTED and state.rejection is not None
    assert state.rejection.comment == "bias audit missing"
    assert told(d.notices_to("soo"), "bias audit missing")
    assert await subject_actions(d, request_id) == ["requested", "rejected"]


async def refusing(d: ChatDriver) -> None:
    written = "deploy credit-scoring 2.3.1 prod"
    try:
        parse(written)
        raise AssertionError("the grammar took a command without 'to'")
    except GrammarError as error:
        assert await d.say("soo", written) == error.message
    request_id = await ask(d, "deploy doc-search 3.1")
    outsider = await d.press("out", request_id, "approve", card_of="lee")
    assert outsider is not None
    assert outsider.startswith("Only the Accountable for deploying doc-search")
    assert await d.press("mina", request_id, "approve") is None
    late = await d.press("jae", request_id, "approve")
    assert late is not None and "already approved by Mina Park" in late
    assert (await d.h.state(request_id)).status is Status.APPROVED
    assert await subject_actions(d, request_id) == ["requested", "denied", "approved", "denied"]


async def cancelling(d: ChatDriver) -> None:
    request_id = await ask(d, "deploy support-bot 1.5.0")
    not_theirs = await d.say("mina", f"cancel {request_id} -- not mine")
    assert not_theirs == "Only the person who asked can cancel this request."
    reply = await d.say("soo", f"cancel {request_id} -- wrong version")
    assert "cancelled" in reply, reply
    await d.h.settle()
    assert (await d.h.state(request_id)).status is Status.CANCELLED
    assert await subject_actions(d, request_id) == ["requested", "denied", "cancelled"]


async def expiring(d: ChatDriver) -> None:
    request_id = await ask(d, "deploy doc-search 4.0")
    await sweep(d, T0 + timedelta(days=14))
    assert (await d.h.state(request_id)).status is Status.EXPIRED
    assert told(d.notices_to("soo"), "expired")
    assert await subject_actions(d, request_id) == ["requested", "expired"]


async def reminding_and_escalating_a_request(d: ChatDriver) -> None:
    request_id = await ask(d, "deploy support-bot 2.0")
    await sweep(d, T0 + timedelta(hours=24))
    for person in APPROVERS:
        assert told(d.notices_to(person), f"Reminder: Request {request_id}"), person
    await sweep(d, T0 + timedelta(hours=72))
    assert d.cards_to("cdao") == [request_id]  # the role's backup
    assert await subject_actions(d, request_id) == ["requested", "reminded", "escalated"]


async def a_review_due_reminded_escalated_and_completed(d: ChatDriver) -> None:
    await sweep(d, T0)
    review = await d.h.reviews.open_review("credit-scoring")
    assert review is not None
    due = review.due_at
    assert due == T0 + timedelta(days=30)
    await sweep(d, due - timedelta(days=7))
    reminder = "Reminder: the risk review of Credit scoring model (credit-scoring) is due in 7 days"
    for person in ("soo", *APPROVERS):
        assert told(d.notices_to(person), reminder), person
    assert d.review_actionable("mina")
    assert not told(d.notices_to("cdao"), "risk review")

    await sweep(d, due + timedelta(days=1))
    overdue = "is overdue (due 2026-12-02); escalated to Ada Chief"
    assert told(d.notices_to("cdao"), overdue) and d.review_actionable("cdao")
    assert told(d.channel_notices(), overdue)

    refused = await complete_review(d, "soo", "credit-scoring", CHECKLIST, "")
    assert refused is not None
    assert refused.startswith("Only Mina Park, Jae Kim, Lee Cho and Ada Chief can complete")
    gaps = await complete_review(d, "mina", "credit-scoring", CHECKLIST[:3], "")
    assert gaps == "Say in the notes why these were not checked: Incidents since the last review."
    notes = "Fairness metrics stable."
    assert await complete_review(d, "mina", "credit-scoring", CHECKLIST, notes) is None
    await d.h.settle()
    assert told(d.channel_notices(), "was completed by Mina Park; the next one is due 2027-01-02")
    assert await subject_actions(d, review.id) == [
        "review-scheduled", "review-reminded", "review-escalated", "denied", "review-completed",
    ]  # fmt: skip
    following = await d.h.reviews.open_review("credit-scoring")
    assert following is not None and following.id != review.id
    assert await d.h.chain_ok()


async def a_stale_review_form(d: ChatDriver) -> None:
    await sweep(d, T0)
    form = await d.review_form("mina", "credit-scoring")
    # An incident closed on the system brings the review forward: a new revision.
    opened = await d.say("soo", "incident credit-scoring sev3 latency up")
    incident = opened.split()[1]
    assert (await d.say("mina", f"incident close {incident} -- fixed")).startswith("Incident")
    stale = await d.submit_review("mina", form, CHECKLIST, "done")
    assert stale == "This review form is out of date; open it again."
    fresh = await complete_review(d, "mina", "credit-scoring", CHECKLIST, "done")
    assert fresh is None


async def an_incident_opened_and_closed(d: ChatDriver) -> None:
    opened = await d.say("soo", "incident credit-scoring sev2 scores drift after retrain")
    assert "opened: room inc-20261102-credit-scoring-1" in opened, opened
    incident = opened.split()[1]
    await d.h.settle()
    frozen = await d.say("soo", "deploy credit-scoring 2.4.0")
    assert "frozen while incident" in frozen
    closed = await d.say("mina", f"incident close {incident} -- rolled back")
    assert "closed by Mina Park" in closed
    await d.h.settle()
    assert told(d.channel_notices(), "rolled back")
    assert (await d.say("soo", "deploy credit-scoring 2.4.1")).startswith("Request R")
    assert await subject_actions(d, incident) == ["incident-opened", "incident-closed"]


async def raci_status_and_help(d: ChatDriver) -> None:
    policy = d.h.policies.current.policy
    assert await d.say("dan", "raci credit-scoring") == raci_text(policy, "credit-scoring")
    assert await d.say("mina", "status") == "Nothing waits on you."
    await ask(d, "deploy credit-scoring 2.4 to prod")
    waiting = await d.say("mina", "status")
    assert "deploy credit-scoring 2.4 to prod: your approval (0 of 2 approvals)" in waiting
    assert "your view as Consulted" in await d.say("dan", "status")
    assert await d.say("ines", "help") == help_text()
    assert await d.say("ines", "help incident") == help_text("incident")


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[ChatDriver], Awaitable[None]]


SCENARIOS = (
    Scenario("ask", asking),
    Scenario("ask-through-the-form", asking_through_the_form),
    Scenario("consult-and-quorum", consulting_and_quorum),
    Scenario("reject-with-reason", rejecting_with_a_reason),
    Scenario("refusals", refusing),
    Scenario("cancel", cancelling),
    Scenario("expiry", expiring),
    Scenario("request-reminder-and-escalation", reminding_and_escalating_a_request),
    Scenario(
        "review-due-reminded-escalated-completed", a_review_due_reminded_escalated_and_completed
    ),
    Scenario("stale-review-form", a_stale_review_form),
    Scenario("incident-opened-and-closed", an_incident_opened_and_closed),
    Scenario("raci-status-help", raci_status_and_help),
)
