"""The console's indicators of oversight, computed from requests and incidents as they are
stored; pure (the caller reads them), imports no platform or storage.

Decision time by tier (p50, p90), the expired share, escalations, consultation answered in
time, reviews done on time, requests by source (chat, console, pipeline, agent), incidents and
the hours systems were frozen by them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from workflows.incidents import Incident
from workflows.model import ApprovalRequest, Status
from workflows.policy import Policy
from workflows.reviews import RiskReview

DECIDED = (Status.APPROVED, Status.REJECTED)
SOURCES = {"slack": "chat", "teams": "chat", "web": "console"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str


@dataclass(frozen=True)
class Indicators:
    decision_hours: tuple[Bar, ...]  # p50 and p90 per tier
    outcomes: tuple[Bar, ...]
    sources: tuple[Bar, ...]
    escalated: int
    expired_share: float | None
    consulted_in_time: float | None
    incidents: int
    frozen_hours: float
    reviews_on_time: float | None


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of `values` (not empty): the smallest value with at least
    `share` of them at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _hours(value: float) -> str:
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def indicators(
    states: Sequence[ApprovalRequest],
    incidents: Sequence[Incident],
    reviews: Sequence[RiskReview],
    machines: Mapping[str, str],
    policy: Policy,
    now: datetime,
) -> Indicators:
    """`machines` names the requests a client opened: `pipeline` or `agent`."""
    by_tier: dict[str, list[float]] = {}
    for state in states:
        if state.status in DECIDED and state.decided_at is not None:
            system = policy.systems.get(state.system)
            tier = system.tier if system else "unknown"
            hours = (state.decided_at - state.opened_at).total_seconds() / 3600
            by_tier.setdefault(tier, []).append(hours)
    decision = tuple(
        Bar(f"{tier} p{int(share * 100)}", value, _hours(value))
        for tier, hours in sorted(by_tier.items())
        for share in (0.5, 0.9)
        for value in (percentile(hours, share),)
    )
    statuses = Counter(state.status.value for state in states)
    outcomes = tuple(Bar(s.value, statuses[s.value], str(statuses[s.value])) for s in Status)
    sources = Counter(
        machines.get(state.id) or SOURCES.get(state.requester.platform, "other") for state in states
    )
    ended = sum(statuses[s.value] for s in (*DECIDED, Status.EXPIRED))
    asked = [(vote.at <= state.consult_until) for state in states for vote in state.consultations]
    # A Consulted person missed the window only if it closed while the request was still open:
    # one decided or withdrawn early gave them no chance to answer late.
    unanswered = sum(
        1
        for state in states
        if (state.decided_at or now) > state.consult_until
        for person in state.consulted
        if person not in state.answered()
    )
    answered_in_time = sum(asked)
    frozen = sum(
        ((incident.closed_at or now) - incident.opened_at).total_seconds() / 3600
        for incident in incidents
    )
    completed = [r for r in reviews if r.completed_at is not None]
    overdue_open = [r for r in reviews if r.completed_at is None and r.due_at < now]
    on_time = sum(1 for r in completed if r.completed_at is not None and r.completed_at <= r.due_at)
    judged = len(completed) + len(overdue_open)
    return Indicators(
        decision_hours=decision,
        outcomes=outcomes,
        sources=tuple(Bar(name, count, str(count)) for name, count in sources.most_common()),
        escalated=sum(1 for state in states if state.escalated),
        expired_share=statuses[Status.EXPIRED.value] / ended if ended else None,
        consulted_in_time=answered_in_time / (len(asked) + unanswered)
        if asked or unanswered
        else None,
        incidents=len(incidents),
        frozen_hours=frozen,
        reviews_on_time=on_time / judged if judged else None,
    )
