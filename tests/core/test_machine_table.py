"""Every (status, action) pair of the approval machine, on the pure `step()`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness import T0, actor, build_policy
from workflows.commands import Action, Answer, Cancel, Command, Freeze, OpenRequest, Thaw, Tick
from workflows.machine import TRANSITIONS, step
from workflows.model import TERMINAL, ApprovalRequest, Status, Verdict, Vote

POLICY = build_policy()
DIGEST = "d" * 64


def _pending() -> ApprovalRequest:
    opened = step(
        None,
        OpenRequest(request_id="R1", actor=actor("soo"), system="support-bot", version="1.0"),
        POLICY,
        T0,
        DIGEST,
    )
    assert opened.state is not None
    return opened.state


def _in(status: Status) -> ApprovalRequest:
    state = _pending()
    if status is Status.PENDING:
        return state
    vote = Vote(person="mina", verdict=Verdict.APPROVE, at=T0, platform="slack")
    return state.model_copy(update={"status": status, "decided_at": T0, "approvals": (vote,)})


COMMANDS: dict[Action, Command] = {
    Action.OPEN: OpenRequest(
        request_id="R1", actor=actor("soo"), system="support-bot", version="1"
    ),
    Action.APPROVE: Answer(request_id="R1", actor=actor("jae"), verdict=Verdict.APPROVE),
    Action.REJECT: Answer(
        request_id="R1", actor=actor("jae"), verdict=Verdict.REJECT, comment="no"
    ),
    Action.NO_OBJECTION: Answer(request_id="R1", actor=actor("dan"), verdict=Verdict.NO_OBJECTION),
    Action.RAISE_CONCERN: Answer(
        request_id="R1", actor=actor("dan"), verdict=Verdict.CONCERN, comment="why"
    ),
    Action.CANCEL: Cancel(request_id="R1", actor=actor("soo")),
    Action.TICK: Tick(request_id="R1"),
    Action.FREEZE: Freeze(request_id="R1", incident_id="I1"),
    Action.THAW: Thaw(request_id="R1", incident_id="I1"),
}

# (status, action) -> (outcome code, status afterwards, audit actions)
EXPECTED: dict[tuple[Status, Action], tuple[str, Status, list[str]]] = {
    (Status.PENDING, Action.OPEN): ("duplicate-id", Status.PENDING, []),
    (Status.PENDING, Action.APPROVE): ("voted", Status.PENDING, ["voted"]),
    (Status.PENDING, Action.REJECT): ("rejected", Status.REJECTED, ["rejected"]),
    # dan is not Consulted on support-bot: refused and audited.
    (Status.PENDING, Action.NO_OBJECTION): ("not-consulted", Status.PENDING, ["denied"]),
    (Status.PENDING, Action.RAISE_CONCERN): ("not-consulted", Status.PENDING, ["denied"]),
    (Status.PENDING, Action.CANCEL): ("cancelled", Status.CANCELLED, ["cancelled"]),
    (Status.PENDING, Action.TICK): ("nothing-due", Status.PENDING, []),
    (Status.PENDING, Action.FREEZE): ("frozen", Status.PENDING, ["frozen"]),
    # Thawing a request no incident froze changes nothing.
    (Status.PENDING, Action.THAW): ("nothing-due", Status.PENDING, []),
}
for _status in TERMINAL:
    for _action in Action:
        EXPECTED[(_status, _action)] = {
            Action.OPEN: ("duplicate-id", _status, []),
            Action.TICK: ("nothing-due", _status, []),
            Action.FREEZE: ("nothing-due", _status, []),
            Action.THAW: ("nothing-due", _status, []),
        }.get(_action, ("decided", _status, ["denied"]))


def test_the_table_covers_every_pair() -> None:
    pairs = {(s, a) for s in Status for a in Action}
    assert set(TRANSITIONS) == pairs
    assert set(EXPECTED) == pairs


@pytest.mark.parametrize(("status", "action"), sorted(EXPECTED, key=str))
def test_pair(status: Status, action: Action) -> None:
    code, after, audit = EXPECTED[(status, action)]
    before = _in(status)
    result = step(before, COMMANDS[action], POLICY, T0 + timedelta(minutes=1), DIGEST)
    assert result.outcome.code == code
    assert result.state is not None and result.state.status is after
    assert [e.action for e in result.audit] == audit
    if after is status and action not in (Action.APPROVE, Action.FREEZE):
        assert result.state == before  # a refusal or no-op never changes the request


def test_a_click_after_the_deadline_expires_the_request_and_is_refused() -> None:
    state = _pending()
    late = state.expires_at + timedelta(seconds=1)
    result = step(state, COMMANDS[Action.APPROVE], POLICY, late, DIGEST)
    assert result.state is not None and result.state.status is Status.EXPIRED
    assert result.outcome.code == "decided" and "expired" in result.outcome.message
    assert [e.action for e in result.audit] == ["expired", "denied"]


def test_ticks_remind_then_escalate_then_expire() -> None:
    state = _pending()  # limited tier: remind 24h, escalate 72h, expire 7d
    reminded = step(state, Tick(request_id="R1"), POLICY, T0 + timedelta(hours=24), DIGEST)
    assert [e.action for e in reminded.audit] == ["reminded"]
    assert reminded.state is not None and reminded.state.remind_at == T0 + timedelta(hours=48)
    escalated = step(
        reminded.state, Tick(request_id="R1"), POLICY, T0 + timedelta(hours=72), DIGEST
    )
    assert [e.action for e in escalated.audit] == ["escalated"]
    assert escalated.state is not None and escalated.state.escalated
    # Escalation makes the backup an eligible approver.
    backup = step(
        escalated.state,
        Answer(request_id="R1", actor=actor("cdao"), verdict=Verdict.APPROVE),
        POLICY,
        T0 + timedelta(hours=73),
        DIGEST,
    )
    assert backup.outcome.code == "voted"
    expired = step(backup.state, Tick(request_id="R1"), POLICY, T0 + timedelta(days=7), DIGEST)
    assert expired.state is not None and expired.state.status is Status.EXPIRED
    assert [e.action for e in expired.audit] == ["expired"]


def test_opening_an_unknown_system_names_the_known_ones() -> None:
    command = OpenRequest(request_id="R2", actor=actor("soo"), system="nope", version="1")
    result = step(None, command, POLICY, T0, DIGEST)
    assert result.state is None and result.audit == ()
    assert result.outcome.code == "unknown-system"
    assert "credit-scoring, doc-search, support-bot" in result.outcome.message


def test_answers_to_an_unknown_request_are_refused() -> None:
    result = step(None, COMMANDS[Action.APPROVE], POLICY, T0, DIGEST)
    assert result.outcome.code == "unknown-request" and result.audit == ()


def test_a_frozen_request_keeps_its_votes_refuses_approval_and_thaws() -> None:
    state = _pending()
    voted = step(state, COMMANDS[Action.APPROVE], POLICY, T0, DIGEST).state
    assert voted is not None and len(voted.approvals) == 1
    frozen = step(voted, COMMANDS[Action.FREEZE], POLICY, T0, DIGEST)
    assert frozen.state is not None and frozen.state.frozen_by == "I1"
    assert frozen.state.approvals == voted.approvals
    assert frozen.state.revision == voted.revision + 1
    mina = Answer(request_id="R1", actor=actor("mina"), verdict=Verdict.APPROVE)
    refused = step(frozen.state, mina, POLICY, T0, DIGEST)
    assert refused.outcome.code == "frozen" and refused.state == frozen.state
    # Another incident's thaw does not lift this one's freeze; its own does.
    other = Thaw(request_id="R1", incident_id="I2")
    assert step(frozen.state, other, POLICY, T0, DIGEST).state == frozen.state
    thawed = step(frozen.state, COMMANDS[Action.THAW], POLICY, T0, DIGEST)
    assert thawed.state is not None and thawed.state.frozen_by is None
    assert step(thawed.state, mina, POLICY, T0, DIGEST).outcome.code == "approved"
