"""Named crash points for fault drills: the process dies at the named point, nowhere else.

Imports nothing of ours. Armed only by `SIGNOFF_FAULT_AT` (a test setting; `serve` warns
loudly when it is set). Points: `before_commit` and `after_commit_before_ack` in the service,
narrowed by the action if wished (`before_commit:approve`), and
`after_api_call_before_outbox_mark_done` in the relay, narrowed by the message kind
(`...:card`, `...:text`, `...:update`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

log = logging.getLogger("signoff.faults")

CrashPoint = Callable[[str], None]
EXIT_CODE = 70


def no_faults(point: str) -> None:
    return None


def crash_at(armed: str | None) -> CrashPoint:
    """A crash point that kills the process when `point` (or `point:kind`) is the armed one."""
    if not armed:
        return no_faults
    log.warning("FAULT DRILL: this process will die at crash point %r (SIGNOFF_FAULT_AT)", armed)

    def crash(point: str) -> None:
        if point == armed or point.split(":", 1)[0] == armed:
            log.warning("FAULT DRILL: dying at %s", point)
            logging.shutdown()
            os._exit(EXIT_CODE)

    return crash
