"""Prometheus metrics, one registry per application so tests can build several; no adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


def _counter(registry: CollectorRegistry, name: str, doc: str, *labels: str) -> Counter:
    return Counter(name, doc, labels, registry=registry)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.commands = _counter(
            r, "signoff_commands", "Commands handled, by action and outcome.", "action", "outcome"
        )
        self.duplicates = _counter(r, "signoff_duplicate_deliveries", "Redeliveries ignored.")
        self.refused = _counter(
            r,
            "signoff_inbound_refused",
            "Inbound requests refused before any work, by platform, status and failed check.",
            "platform",
            "status",
            "kind",
        )
        self.delivered = _counter(r, "signoff_outbox_delivered", "Messages delivered.", "platform")
        self.retried = _counter(
            r, "signoff_outbox_retried", "Deliveries to retry, by reason.", "platform", "reason"
        )
        self.dead = _counter(r, "signoff_outbox_dead_lettered", "Messages given up on.", "platform")
        self.sweep_failures = _counter(
            r,
            "signoff_sweep_failures",
            "Items a sweep skipped because they failed, by stage; the rest went on.",
            "stage",
        )
        self.pending = Gauge(
            "signoff_outbox_pending", "Messages waiting to be delivered.", registry=r
        )
        self.anchors = _counter(
            r, "signoff_anchors", "Timestamp tokens obtained for the ledger head, by TSA.", "tsa"
        )
        self.anchor_failures = _counter(
            r,
            "signoff_anchor_failures",
            "Failed tries to anchor the ledger head, by TSA and reason (retried).",
            "tsa",
            "reason",
        )
        self.anchor_age = Gauge(
            "signoff_anchor_age_seconds",
            "Seconds since the newest ledger anchor was stored; NaN before the first.",
            registry=r,
        )
        self.anchor_age.set(float("nan"))  # no anchor known yet, or anchoring is off

    def refusal_counter(self, platform: str) -> Callable[[int, str], None]:
        """Counts one platform's requests refused before any work, by status and check."""

        def count(status: int, kind: str) -> None:
            self.refused.labels(platform=platform, status=str(status), kind=kind).inc()

        return count

    def render(self) -> bytes:
        return generate_latest(self.registry)
