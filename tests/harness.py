"""The application wired to a real database and a `FakeChat`, the way `serve` wires it.

The policy, its people and the clock live in `tests.policies` and `tests.clock`; they are
named here too, so a test imports what it needs from one place.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from bot.delivery.retry import RetryPolicy
from bot.observability.metrics import Metrics
from bot.runtime import Runtime, assemble_runtime
from bot.services.ids import new_request_id
from bot.storage.ledger import row_to_entry
from bot.storage.requests import load_request
from bot.storage.tables import ledger_entries, outbox, votes
from tests.clock import T0 as T0
from tests.clock import Clock as Clock
from tests.fake_chat import FakeChat
from tests.policies import BASE_POLICY as BASE_POLICY
from tests.policies import CHECKLIST as CHECKLIST
from tests.policies import Policies as Policies
from tests.policies import actor as actor
from tests.policies import build_policy as build_policy
from tests.policies import review_policy as review_policy
from tests.policies import with_reviews as with_reviews
from workflows.chain import verify_chain
from workflows.commands import Answer, Cancel, OpenRequest, Tick
from workflows.ledger import LedgerEntry
from workflows.machine_types import Outcome
from workflows.model import ApprovalRequest, Verdict


@dataclass
class Harness:
    engine: AsyncEngine
    policies: Policies = field(default_factory=lambda: Policies.of(build_policy()))
    clock: Clock = field(default_factory=Clock)
    chat: FakeChat = field(default_factory=lambda: FakeChat(platform="slack"))
    metrics: Metrics = field(default_factory=Metrics)
    # Platforms beside the Slack-named `chat`, by name (the Teams world adds "teams").
    more_ports: dict[str, ChatPort] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports: dict[str, ChatPort] = {"slack": self.chat, **self.more_ports}
        self._runtime = assemble_runtime(
            self.engine,
            self.policies,
            self.clock,
            ports,
            metrics=self.metrics,
            retry=RetryPolicy(),
            jitter=lambda: 1.0,
        )
        self.relay = self._runtime.relay
        self.service = self._runtime.service
        self.uow = self.service.uow
        self.incidents = self._runtime.incidents
        self.reviews = self._runtime.reviews

    def runtime(self) -> Runtime:
        """What the HTTP app and the sweeps share, around this harness's parts."""
        return self._runtime

    async def settle(self) -> None:
        """Deliver everything queued, also what a running app's own relay has claimed."""
        for _ in range(500):
            await self.relay.drain()
            if await self.relay.pending() == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the outbox did not drain")

    async def open(
        self, requester: str | None = "soo", system: str = "credit-scoring", **extra: Any
    ) -> str:
        request_id = new_request_id()
        outcome = await self.service.handle(
            OpenRequest(
                request_id=request_id,
                actor=actor(requester),
                system=system,
                version="2.3.1",
                environment="prod",
                reason="quarterly retrain",
                **extra,
            )
        )
        assert outcome.ok, outcome
        return request_id

    async def answer(
        self,
        request_id: str,
        person: str | None,
        verdict: Verdict = Verdict.APPROVE,
        comment: str | None = None,
        *,
        platform: str = "slack",
        delivery: str | None = None,
        **extra: Any,
    ) -> Outcome:
        command = Answer(
            request_id=request_id,
            actor=actor(person, platform),
            verdict=verdict,
            comment=comment,
            **extra,
        )
        return await self.service.handle(command, (platform, delivery) if delivery else None)

    async def cancel(self, request_id: str, person: str | None) -> Outcome:
        return await self.service.handle(Cancel(request_id=request_id, actor=actor(person)))

    async def tick(self, request_id: str) -> Outcome:
        return await self.service.handle(Tick(request_id=request_id))

    async def consult_all(self, request_id: str) -> None:
        assert (await self.answer(request_id, "dan", Verdict.NO_OBJECTION)).ok

    async def state(self, request_id: str) -> ApprovalRequest:
        async with self.engine.connect() as conn:
            found = await load_request(conn, request_id)
        assert found is not None
        return found

    async def ledger(self) -> list[LedgerEntry]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(ledger_entries).order_by(ledger_entries.c.seq))
            return [row_to_entry(r) for r in rows]

    async def actions(self, request_id: str) -> list[str]:
        return [e.action for e in await self.ledger() if e.subject_id == request_id]

    async def vote_rows(self, request_id: str) -> list[tuple[str, str]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(votes.c.person, votes.c.stance).where(votes.c.request_id == request_id)
            )
            return sorted((r.person, r.stance) for r in rows)

    async def outbox_messages(self, request_id: str) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.message).where(outbox.c.request_id == request_id)
            )
            return [json.loads(r.message) for r in rows]

    async def outbox_count(self, status: str) -> int:
        async with self.engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.status == status)
            )
        return int(count or 0)

    async def chain_ok(self) -> bool:
        return verify_chain(await self.ledger()).ok
