"""Risk-review dates: due moments, reminder moments and escalation, in the policy's zone; pure.

Due dates are calendar dates in the policy's `timezone`; every moment is that date at the
policy's reminder hour, converted to UTC with `zoneinfo`, so 09:00 stays 09:00 local across
daylight-saving changes. Imports only the policy schema.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.policy import Policy


def local_date(policy: Policy, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(policy.timezone)).date()


def at_hour(policy: Policy, day: date) -> datetime:
    """`day` at the policy's reminder hour, local time, as UTC.

    In a spring-forward gap the hour does not exist; zoneinfo then reads it with the offset
    before the change, which lands an hour later in wall time: still once, still that day.
    """
    local = datetime.combine(day, time(policy.reviews.hour), tzinfo=ZoneInfo(policy.timezone))
    return local.astimezone(UTC)


def due_after(policy: Policy, system_id: str, start: datetime) -> datetime:
    """The due moment one review cycle after `start`, counted in whole local days."""
    cycle = policy.rules_for(system_id).review_every
    days = max(1, round(cycle / timedelta(days=1)))
    return at_hour(policy, local_date(policy, start) + timedelta(days=days))


def reminder_moments(policy: Policy, due_at: datetime) -> list[tuple[int, datetime]]:
    """(days before, moment) of every reminder for a review due at `due_at`, earliest first."""
    due_day = local_date(policy, due_at)
    moments = {
        d: at_hour(policy, due_day - timedelta(days=d)) for d in policy.reviews.remind_days_before
    }
    return sorted(moments.items(), key=lambda item: item[1])


def escalation_moment(policy: Policy, due_at: datetime) -> datetime:
    return due_at + policy.reviews.escalate_after
