"""`signoff audit evidence`: the console's evidence pack for a period, from the command line.

A platform room: it builds the runtime the pack's service needs; the pack itself (its files,
manifest and `exported` ledger entry) is `bot.services.console_evidence`, the same as the
console's button.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflows.ledger import parse_time

if TYPE_CHECKING:
    from bot.settings import Settings


def moment(text: str) -> datetime:
    """A date (its UTC midnight) or an RFC 3339 time, for argparse."""
    try:
        return parse_time(text + "T00:00:00Z" if len(text) == 10 else text).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an RFC 3339 time"
        ) from None


async def build_pack(
    settings: Settings, since: datetime | None, until: datetime | None
) -> tuple[bytes, dict[str, Any]]:
    """The pack's zip and its manifest, once the ledger records that it was taken."""
    from bot.policy.source import PolicyHolder, policy_path
    from bot.runtime import build_runtime, utc_now
    from bot.services.console_evidence import EvidencePacks
    from workflows.model import Actor

    path = policy_path(settings)
    runtime = await build_runtime(settings, PolicyHolder(path), utc_now)
    try:
        actor = Actor(person=None, platform="cli", platform_user_id=getpass.getuser())
        pack = await EvidencePacks(runtime.service.uow, path).build(since, until, actor)
    finally:
        await runtime.engine.dispose()
    return pack.data, pack.manifest


def cmd_audit_evidence(args: argparse.Namespace, settings: Settings) -> int:
    if args.since and args.until and args.until <= args.since:
        print("signoff audit evidence: --until must come after --since", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = Path(args.output or f"signoff-evidence-{stamp}.zip")
    print("Building the evidence pack (ledger, decisions, reviews, incidents)...", file=sys.stderr)
    data, manifest = asyncio.run(build_pack(settings, args.since, args.until))
    output.write_bytes(data)
    ledger = manifest["ledger"]
    span = (
        f"entries {ledger['first_seq']}..{ledger['last_seq']}"
        if ledger["entries"]
        else "no entries in the period"
    )
    print(
        f"Wrote {output}: {len(manifest['files'])} files, {span}; the pack is recorded in the "
        "ledger. Check it with `signoff audit verify --file ledger.jsonl` after unzipping.",
        file=sys.stderr,
    )
    return 0


def add_evidence_command(audit_commands: Any) -> None:
    """`signoff audit evidence` beside the other audit subcommands."""
    evidence = audit_commands.add_parser(
        "evidence",
        help="the auditor's evidence pack for a period: ledger slice, CSV summaries, manifest",
    )
    evidence.add_argument("--since", type=moment, help="from this date or time (default: start)")
    evidence.add_argument("--until", type=moment, help="up to, not including, this date or time")
    evidence.add_argument("--output", "-o", help="the zip file to write")
    evidence.set_defaults(run=cmd_audit_evidence)
