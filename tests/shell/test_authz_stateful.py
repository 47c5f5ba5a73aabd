"""AUTHZ-22: random interleavings of requests for several activities, votes, duplicates,
cancels, role changes, expiries and restarts against the real service and database, checked
against invariants."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from bot.storage.database import create_engine
from bot.storage.tables import metadata
from tests.harness import Clock, Harness, Policies, actor, build_policy
from workflows.commands import OpenRequest
from workflows.inventory import responsible_people
from workflows.model import TERMINAL, Status, Verdict

PEOPLE = ("mina", "jae", "lee", "soo", "dan", "cdao", "out", None)
SYSTEMS = ("credit-scoring", "support-bot", "doc-search")
ACTIVITIES = ("deploy", "data-access", "refund")
DECISIONS = {"approved", "rejected", "cancelled", "expired"}
# data-access has a RACI of its own: dan asks, the data-owner role decides on a quorum of one.
DATA_OWNERS = ("lee", "ines")


def with_activities(raw: dict[str, Any], members: list[str]) -> None:
    raw["roles"]["ai-governance-lead"]["members"] = members
    raw["roles"]["data-owner"] = {"members": list(DATA_OWNERS), "backup": ["cdao"]}
    for system in ("credit-scoring", "support-bot"):
        raw["systems"][system]["raci"]["data-access"] = {
            "responsible": ["security-compliance"],
            "accountable": "data-owner",
            "consulted": ["ml-engineer"],
            "overrides": {"quorum": 1, "expire_after": "24h"},
        }


class ApprovalMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory()
        self.url = f"sqlite+aiosqlite:///{Path(self.directory.name) / 'machine.db'}"
        self.clock = Clock()
        self.members = ["mina", "jae", "lee"]
        self.policies = Policies.of(build_policy(lambda raw: with_activities(raw, self.members)))
        self.final: dict[str, tuple[Status, tuple[str, ...]]] = {}
        self.harness: Harness | None = None

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @initialize()
    def start(self) -> None:
        async def create() -> None:
            engine = create_engine(self.url)
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
            await engine.dispose()

        self.run(create())
        self._connect()

    def _connect(self) -> None:
        self.harness = Harness(create_engine(self.url), self.policies, self.clock)

    @property
    def h(self) -> Harness:
        assert self.harness is not None
        return self.harness

    def teardown(self) -> None:
        if self.harness is not None:
            self.run(self.harness.engine.dispose())
        self.loop.close()
        self.directory.cleanup()

    @rule(
        target=requests,
        system=st.sampled_from(SYSTEMS),
        activity=st.sampled_from(ACTIVITIES),
        # Half the time the activity's own Responsible asks, otherwise anyone at all.
        who=st.sampled_from(("responsible",) * len(PEOPLE) + PEOPLE),
    )
    def open_request(self, system: str, activity: str, who: str | None) -> Any:
        policy = self.policies.current.policy
        if who == "responsible":
            who = next(iter(responsible_people(policy, system, activity)), "out")
        request_id = f"R{uuid.uuid4().hex[:12].upper()}"
        command = OpenRequest(
            request_id=request_id, actor=actor(who), system=system, activity=activity, version="1"
        )
        outcome = self.run(self.h.service.handle(command))
        known = activity in policy.systems[system].raci
        may_ask = who in responsible_people(policy, system, activity)
        assert outcome.ok == (known and may_ask), outcome
        if outcome.ok:
            return request_id
        if known:
            # Anyone but the activity's Responsible is refused, and the refusal is audited.
            assert outcome.code == "not-responsible"
            last = self.run(self.h.ledger())[-1]
            assert (last.action, last.subject_id, last.data["activity"]) == (
                "denied",
                request_id,
                activity,
            )
        else:
            assert outcome.code == "unknown-activity" and "deploy" in outcome.message
        return multiple()

    @rule(
        request=requests,
        who=st.sampled_from(PEOPLE),
        verdict=st.sampled_from(list(Verdict)),
        comment=st.sampled_from([None, "", "looks risky"]),
        platform=st.sampled_from(["slack", "teams"]),
        delivery=st.sampled_from([None, "d1", "d2", "d3"]),
    )
    def answer(
        self,
        request: str,
        who: str | None,
        verdict: Verdict,
        comment: str | None,
        platform: str,
        delivery: str | None,
    ) -> None:
        key = f"{request}-{delivery}" if delivery else None
        self.run(self.h.answer(request, who, verdict, comment, platform=platform, delivery=key))

    @rule(request=requests, who=st.sampled_from(PEOPLE))
    def cancel(self, request: str, who: str | None) -> None:
        self.run(self.h.cancel(request, who))

    @rule(hours=st.integers(min_value=1, max_value=100))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule(request=requests)
    def tick(self, request: str) -> None:
        self.run(self.h.tick(request))

    @rule(person=st.sampled_from(["mina", "jae", "lee", "dan", "soo"]))
    def toggle_accountable(self, person: str) -> None:
        if person in self.members:
            if len(self.members) > 2:
                self.members.remove(person)
        else:
            self.members.append(person)
        members = list(self.members)

        self.policies.replace(build_policy(lambda raw: with_activities(raw, members)))

    @rule()
    def restart(self) -> None:
        self.run(self.h.engine.dispose())
        self._connect()

    @invariant()
    def decisions_hold(self) -> None:
        if self.harness is None:
            return
        ledger = self.run(self.h.ledger())
        assert self.run(self.h.chain_ok())
        opened = {e.subject_id for e in ledger if e.action == "requested"}
        for request_id in opened:
            state = self.run(self.h.state(request_id))
            actions = [e.action for e in ledger if e.subject_id == request_id]
            decided = [a for a in actions if a in DECISIONS]
            # A terminal state never changes, and has exactly one decision entry.
            if request_id in self.final:
                assert (state.status, state.approvers()) == self.final[request_id]
            if state.status in TERMINAL:
                self.final[request_id] = (state.status, state.approvers())
                assert decided == [state.status.value]
            else:
                assert decided == []
            # Approved means a quorum of distinct people, none of them the requester.
            approvers = state.approvers()
            assert len(approvers) == len(set(approvers))
            assert not set(approvers) & set(state.requesters())
            if state.status is Status.APPROVED:
                assert len(approvers) >= state.quorum
            # Every entry names the request's activity; a data-access approval is the data
            # owners' (or their backup's), whatever the deploy Accountable do.
            entries = [e for e in ledger if e.subject_id == request_id]
            assert {e.data["activity"] for e in entries} == {state.activity}
            if state.activity == "data-access":
                assert set(approvers) <= {*DATA_OWNERS, "cdao"}
                assert state.quorum == 1
            # No click is counted twice: one vote row per counted approval.
            rows = self.run(self.h.vote_rows(request_id))
            assert sorted(p for p, stance in rows if stance == "approval") == sorted(approvers)
            # Every counted approval has one ledger entry: "voted", or the deciding "approved".
            voted = [e for e in ledger if e.subject_id == request_id and e.action == "voted"]
            assert len(voted) == len(approvers) - (state.status is Status.APPROVED)


ApprovalMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestApprovalMachine = ApprovalMachine.TestCase
