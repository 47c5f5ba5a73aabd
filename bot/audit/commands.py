"""The `signoff audit` commands: verify (with --anchors) and export (with the anchors, and
recorded in the ledger); their arguments and what each runs. Imports no adapters; `bot.cli`
calls it with the settings it read, and everything heavier is imported where it is used.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.settings import Settings


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.audit.export import run_verify

    if args.anchors is not None or args.expect_head:
        from bot.audit.auditor import run_audit

        roots = args.roots or (str(settings.signoff_tsa_roots or "") or None)
        return asyncio.run(
            run_audit(
                settings.database,
                args.file,
                args.anchors or None,
                roots,
                args.expect_head,
                sys.stdout,
                args.workers,
            )
        )
    return asyncio.run(run_verify(settings.database, args.file, sys.stdout, args.workers))


def cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    import hashlib

    from bot.audit.evidence import run_recorded_export
    from bot.policy.source import policy_path

    # The export's own ledger entry (AUD-14) names the policy file as every entry does.
    digest = hashlib.sha256(policy_path(settings).read_bytes()).hexdigest()
    anchors = Path(args.anchors) if args.anchors else None

    def export(out: TextIO) -> int:
        return asyncio.run(
            run_recorded_export(settings.database, args.format, args.since, out, digest, anchors)
        )

    if args.output and args.output != "-":
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            code = export(out)
        if code == 0:
            print(f"Wrote {args.output}", file=sys.stderr)
        return code
    return export(sys.stdout)


def add_audit_commands(commands: Any, positive: Callable[[str], int]) -> Any:
    """`signoff audit verify|export` on the command line's subcommands; returns the audit
    subcommands, for the ones other rooms add (`evidence`)."""
    audit = commands.add_parser(
        "audit", help="the hash-chained audit ledger and its RFC 3161 anchors"
    )
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    verify = audit_commands.add_parser(
        "verify", help="recompute the hash chain; names the first bad seq"
    )
    verify.add_argument("--file", help="verify an export file instead of the database")
    verify.add_argument(
        "--workers",
        type=positive,
        help="processes, this one included, that walk a long ledger in stretches "
        "(default: one per available CPU)",
    )
    verify.add_argument(
        "--anchors",
        nargs="?",
        const="",
        metavar="FILE",
        help="check the stored timestamp tokens and that the chain holds every anchored hash; "
        "with --file, FILE is the export's anchors.jsonl",
    )
    verify.add_argument("--roots", help="PEM file of the trusted TSA roots (SIGNOFF_TSA_ROOTS)")
    verify.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head copied from the governance channel, which the chain must still hold",
    )
    verify.set_defaults(run=cmd_audit_verify)
    export = audit_commands.add_parser("export", help="write ledger entries for an auditor")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--since", help="only entries at or after this RFC 3339 time or date")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.add_argument(
        "--anchors",
        metavar="DIR",
        help="also write the anchors, their tokens, the auditor's README and check script here",
    )
    export.set_defaults(run=cmd_audit_export)
    return audit_commands
