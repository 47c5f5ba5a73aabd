"""The metrics and the log line for what the relay did to a row, once it is recorded.

Imports the relay's `Attempt` and the metrics only. A retry is a warning, a dead letter an
error that names the request or incident, says the decision stands and where to look.
"""

from __future__ import annotations

import logging

from bot.delivery.marks import Attempt
from bot.observability.metrics import Metrics

log = logging.getLogger("signoff.outbox")


def tell(attempt: Attempt, metrics: Metrics) -> None:
    """Count a recorded attempt, and log it unless it was simply sent."""
    row = attempt.row
    if attempt.outcome == "sent":
        metrics.delivered.labels(platform=row.platform).inc()
    elif attempt.outcome == "retry":
        metrics.retried.labels(platform=row.platform, reason=attempt.reason).inc()
        assert attempt.next_at is not None
        log.warning(
            "outbox row %s to %s: %s; next attempt at %s",
            row.id,
            row.destination_key,
            attempt.error,
            attempt.next_at.isoformat(),
        )
    elif attempt.outcome == "dead":
        metrics.dead.labels(platform=row.platform).inc()
        log.error(
            "outbox row %s to %s%s dead-lettered: %s. The decision it reports stands; "
            "its last_error in the outbox table says what to fix.",
            row.id,
            row.destination_key,
            _about(row.request_id, row.subject_id),
            attempt.error,
            extra={"event": "delivery-failed", "subject_id": row.subject_id},
        )


def _about(request_id: str | None, subject_id: str | None) -> str:
    """Which request or incident a row was about, for the reader of the log."""
    if request_id:
        return f" about request {request_id}"
    return f" about incident {subject_id}" if subject_id else ""
