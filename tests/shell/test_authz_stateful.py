"""AUTHZ-22: random interleavings of requests, votes, duplicates, cancels, role changes,
expiries and restarts against the real service and database, checked against invariants."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from bot.storage.database import create_engine
from bot.storage.tables import metadata
from tests.harness import Clock, Harness, Policies, build_policy
from workflows.model import TERMINAL, Status, Verdict

PEOPLE = ("mina", "jae", "lee", "soo", "dan", "cdao", "out", None)
SYSTEMS = ("credit-scoring", "support-bot", "doc-search")
DECISIONS = {"approved", "rejected", "cancelled", "expired"}


class ApprovalMachine(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = tempfile.TemporaryDirectory()
        self.url = f"sqlite+aiosqlite:///{Path(self.directory.name) / 'machine.db'}"
        self.clock = Clock()
        self.policies = Policies.of(build_policy())
        self.members = ["mina", "jae", "lee"]
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

    @rule(target=requests, system=st.sampled_from(SYSTEMS), who=st.sampled_from(PEOPLE[:4]))
    def open_request(self, system: str, who: str) -> str:
        return str(self.run(self.h.open(who, system=system)))

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

        def edit(raw: dict[str, Any]) -> None:
            raw["roles"]["ai-governance-lead"]["members"] = members

        self.policies.replace(build_policy(edit))

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
        for request_id in {e.subject_id for e in ledger}:
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
