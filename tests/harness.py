"""A service wired to a real database and a FakeChat, with a policy built in code."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.port import ChatPort
from bot.delivery.relay import OutboxRelay
from bot.delivery.retry import RetryPolicy
from bot.observability.metrics import Metrics
from bot.runtime import Runtime
from bot.services.approvals import ApprovalService
from bot.services.ids import new_request_id
from bot.services.incidents import IncidentService
from bot.services.reviews import ReviewService
from bot.services.unit_of_work import UnitOfWork
from bot.storage.ledger import row_to_entry
from bot.storage.requests import load_request
from bot.storage.tables import ledger_entries, outbox, votes
from tests.fake_chat import FakeChat
from workflows.chain import verify_chain
from workflows.commands import Answer, Cancel, OpenRequest, Tick
from workflows.ledger import LedgerEntry
from workflows.machine_types import Outcome
from workflows.model import Actor, ApprovalRequest, Verdict
from workflows.policy import Policy

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

BASE_POLICY: dict[str, Any] = {
    "version": 1,
    "people": {
        "mina": {"name": "Mina Park", "email": "mina@acme.example", "slack": "U0MINA"},
        "jae": {"name": "Jae Kim", "email": "jae@acme.example", "slack": "U0JAE"},
        "lee": {"name": "Lee Cho", "email": "lee@acme.example", "slack": "U0LEE"},
        "soo": {"name": "Soo Han", "email": "soo@acme.example", "slack": "U0SOO"},
        "dan": {"name": "Dan Ruiz", "email": "dan@acme.example", "slack": "U0DAN"},
        "ines": {"name": "Ines Faro", "email": "ines@acme.example", "slack": "U0INES"},
        "cdao": {"name": "Ada Chief", "email": "cdao@acme.example", "slack": "U0CDAO"},
        "out": {"name": "Otto Side", "email": "out@acme.example", "slack": "U0OUT"},
    },
    "roles": {
        "ai-governance-lead": {"members": ["mina", "jae", "lee"], "backup": ["cdao"]},
        "ml-engineer": {"members": ["soo"]},
        "security-compliance": {"members": ["dan"]},
        "board": {"members": ["ines"]},
    },
    "channels": {"ai-governance": {"slack": "C0GOV"}},
    "tiers": {
        "high": {
            "quorum": 2,
            "consult_first": True,
            "review_every": "30d",
            "remind_after": "4h",
            "escalate_after": "24h",
            "expire_after": "72h",
        },
        "limited": {
            "quorum": 2,
            "review_every": "90d",
            "remind_after": "24h",
            "escalate_after": "72h",
            "expire_after": "7d",
        },
        "minimal": {
            "quorum": 1,
            "review_every": "180d",
            "remind_after": "72h",
            "expire_after": "14d",
        },
    },
    "systems": {
        "credit-scoring": {
            "name": "Credit scoring model",
            "tier": "high",
            "raci": {
                "deploy": {
                    "responsible": ["ml-engineer"],
                    "accountable": "ai-governance-lead",
                    "consulted": ["security-compliance"],
                    "informed": ["#ai-governance", "board"],
                }
            },
        },
        "support-bot": {
            "name": "Support chatbot",
            "tier": "limited",
            "raci": {
                "deploy": {
                    "responsible": ["ml-engineer"],
                    "accountable": "ai-governance-lead",
                    "informed": ["#ai-governance"],
                }
            },
        },
        "doc-search": {
            "name": "Internal document search",
            "tier": "minimal",
            "raci": {
                "deploy": {"responsible": ["ml-engineer"], "accountable": "ai-governance-lead"}
            },
        },
    },
}


def build_policy(change: Any = None) -> Policy:
    """The base policy, optionally edited by `change(raw_dict)` first."""
    raw = copy.deepcopy(BASE_POLICY)
    if change is not None:
        change(raw)
    return Policy.model_validate(raw)


@dataclass(frozen=True)
class Loaded:
    policy: Policy
    digest: str


@dataclass
class Policies:
    """Stands in for the policy holder: `.current`, and `replace` to simulate a reload."""

    current: Loaded

    @classmethod
    def of(cls, policy: Policy) -> Policies:
        return cls(Loaded(policy, _digest(policy)))

    def replace(self, policy: Policy) -> None:
        self.current = Loaded(policy, _digest(policy))


def _digest(policy: Policy) -> str:
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def actor(person: str | None, platform: str = "slack", user_id: str | None = None) -> Actor:
    return Actor(
        person=person, platform=platform, platform_user_id=user_id or f"U0{person}".upper()
    )


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
        self.relay = OutboxRelay(
            self.engine,
            ports,
            lambda: self.policies.current.policy,
            self.clock,
            self.metrics,
            retry=RetryPolicy(),
            jitter=lambda: 1.0,
        )
        self.uow = UnitOfWork(
            self.engine, self.policies, ports, self.clock, self.metrics, self.relay.wake
        )
        self.service = ApprovalService(self.uow)
        self.relay.on_dead = self.service.undeliverable
        self.incidents = IncidentService(self.uow)
        self.reviews = ReviewService(self.uow)

    def runtime(self) -> Runtime:
        """What the HTTP app and the sweeps share, around this harness's parts."""
        return Runtime(
            self.engine,
            self.policies,
            self.service,
            self.relay,
            self.metrics,
            self.reviews,
            self.incidents,
        )

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


CHECKLIST = ("Data quality", "Model risk", "Compliance", "Incidents since the last review")


def with_reviews(raw: dict[str, Any], **reviews: Any) -> None:
    raw["systems"]["credit-scoring"]["raci"]["risk-review"] = {
        "responsible": ["ml-engineer"],
        "accountable": "ai-governance-lead",
        "informed": ["#ai-governance"],
    }
    raw["reviews"] = reviews
    for name in ("support-bot", "doc-search"):
        raw["systems"].pop(name)


def review_policy(**reviews: Any) -> Policy:
    return build_policy(lambda raw: with_reviews(raw, **reviews))
