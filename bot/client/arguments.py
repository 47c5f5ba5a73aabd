"""The CI client's command line: `signoff request|status|cancel` and what each option takes.

A usage error exits 64. Standard library only; never `bot` outside `bot.client`, nor any package.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import NoReturn

USAGE = 64
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def duration(text: str) -> float:
    parts = re.findall(r"(\d+)([smhd])", text)
    if text.isdigit():
        return float(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 30m or 5h")
    return float(sum(int(number) * UNITS[unit] for number, unit in parts))


def digest(text: str) -> str:
    if not DIGEST.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not sha256: and 64 lower-case hex digits")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="signoff", description="Ask Signoff's people to approve; wait for them.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    request = commands.add_parser("request", help="open an approval request, and --wait for it")
    request.add_argument("activity", help="an approval activity of the policy, such as deploy")
    request.add_argument("--system", required=True, help="the AI system, as the policy names it")
    request.add_argument("--version", required=True, help="what is to be approved")
    request.add_argument("--environment", help="where it goes, such as production")
    request.add_argument("--reason", help="why, for the people who decide")
    request.add_argument(
        "--idempotency-key",
        help="default: from the CI run (repository, run, attempt, job, system, activity, "
        "environment), so a retried step resumes the same request",
    )
    status = commands.add_parser("status", help="a request's state; exits as request does")
    status.add_argument("id")
    cancel = commands.add_parser("cancel", help="cancel a pending request this client opened")
    cancel.add_argument("id")
    cancel.add_argument("--reason", required=True)
    for sub in (request, status, cancel):
        sub.add_argument(
            "--url", default=os.environ.get("SIGNOFF_URL"), help="default: SIGNOFF_URL"
        )
        auth = sub.add_mutually_exclusive_group()
        auth.add_argument(
            "--token-env",
            default="SIGNOFF_TOKEN",
            metavar="NAME",
            help="the variable holding the client token (default: SIGNOFF_TOKEN)",
        )
        auth.add_argument("--oidc", choices=("github",), help="the GitHub Actions ID token")
        sub.add_argument("--audience", help="the ID token's audience (default: --url)")
        sub.add_argument("--json", action="store_true", help="print the view as JSON on stdout")
    for sub in (request, status):
        sub.add_argument(
            "--artifact",
            type=digest,
            metavar="sha256:...",
            help="succeed only when this digest is the one approved",
        )
        sub.add_argument("--wait", action="store_true", help="until decided or --timeout")
        sub.add_argument("--timeout", type=duration, default=5 * 3600.0, help="default: 5h")
    return parser
