"""Durations written in the policy (`30d`, `4h`); pure, imports nothing of ours."""

import re
from datetime import timedelta

_DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class DurationError(ValueError):
    """A duration string that is not `<positive integer><s|m|h|d|w>`."""


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `15m`, `4h`, `30d` or `2w` into a timedelta."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise DurationError(
            f"{text!r} is not a duration; write a whole number and a unit, such as 4h, 30d or 2w"
        )
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: int(amount)})


def format_duration(value: timedelta) -> str:
    """The shortest policy spelling of a whole-second duration."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
