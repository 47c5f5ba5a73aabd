"""How log lines look on stderr: text for people, or one JSON object per line for collectors.

Imports nothing of ours.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loud libraries, kept to warnings: Alembic narrates its plugins at INFO (our "signoff.db"
# lines say what was applied), APScheduler logs every run of the sweep job
# ("signoff.scheduler" says when one did work).
QUIET = ("alembic", "apscheduler")
HANDLER_NAME = "signoff-stderr"


def json_formatter() -> logging.Formatter:
    """Each record as one JSON object: time, level, logger and message, then any `extra`.

    An exception's traceback stays inside the object (`exc_info`), so a line is a record.
    """
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        timestamp="time",
        rename_fields={"levelname": "level", "name": "logger"},
    )


def setup_logging(level: str, form: Literal["text", "json"] = "text") -> None:
    """Route every logger to stderr at `level`, in the form LOG_FORMAT names."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler from an earlier call: others (a test's capture, an
    # embedding program's) keep receiving every record.
    for old in root.handlers[:]:
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
