"""Durations written in the policy (`30d`, `4h`), ten years at most; pure, imports nothing."""

import re
from datetime import timedelta

_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Every due date is "now plus a duration": ten years keeps that arithmetic far from the
# calendar's end (year 9999), and no review cycle, reminder or expiry is longer.
MAX_DURATION = timedelta(days=3653)


class DurationError(ValueError):
    """A duration string that is not `<positive integer><s|m|h|d|w>` of at most ten years."""


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `15m`, `4h`, `30d` or `2w` into a timedelta of at most ten years."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise DurationError(
            f"{text!r} is not a duration; write a whole number and a unit, such as 4h, 30d or 2w"
        )
    amount, unit = match.groups()
    value = timedelta(**{_UNITS[unit]: int(amount)})
    if value > MAX_DURATION:
        raise DurationError(
            f"{text!r} is longer than ten years ({MAX_DURATION.days}d); "
            "no review cycle, reminder or expiry may be"
        )
    return value


def format_duration(value: timedelta) -> str:
    """The shortest policy spelling of a whole-second duration."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
