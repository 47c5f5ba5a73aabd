"""Moments as people read them on cards and in messages: the policy's zone, to the minute;
pure, imports only the standard library. The ledger keeps UTC (`workflows.ledger.format_time`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # The policy check refuses an unknown zone; a card must still render if one slips by.
        return ZoneInfo("UTC")


def readable_time(moment: datetime, zone: str = "UTC") -> str:
    """`2026-12-01 14:30 CET`: the time in `zone` with the zone's abbreviation, or its name
    where the abbreviation is only an offset (`2026-12-01 14:30 Asia/Dubai`).

    Seconds are cut, not rounded: a deadline is never shown later than it falls. Naive
    moments are taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    where = _zone(zone)
    local = moment.astimezone(where)
    abbreviation = local.tzname() or ""
    label = abbreviation if abbreviation.isalpha() else where.key
    return f"{local:%Y-%m-%d %H:%M} {label}"
