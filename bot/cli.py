"""The `signoff` command line: serve, db upgrade, policy check, audit verify/export, sweep.

The composition root: the only place that reads settings and wires parts together.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

# The CI client's commands must not load the server's dependencies (SQLAlchemy, slack-bolt):
# everything of the shell is imported where it is used.
if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("signoff")
CLIENT_COMMANDS = {
    "request": "ask for an approval through API v1 and --wait for it (CI runners)",
    "status": "a request's state, as the CI client sees it",
    "cancel": "cancel a pending request the CI client opened",
}
# `signoff mcp` needs neither the server's settings nor its dependencies, only the MCP SDK.
AGENT_COMMANDS = {"mcp": "a stdio MCP server with which AI agents ask for approval and wait"}

# How long `signoff sweep` waits for messages held back by pacing or a Retry-After.
SWEEP_PATIENCE = timedelta(seconds=60)


def _version() -> str:
    try:
        return metadata.version("signoff")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


def cmd_policy_check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.policy.source import policy_path, read_policy
    from workflows.policy_load import PolicyError

    path = policy_path(settings, args.file)
    try:
        loaded = read_policy(path)
    except PolicyError as error:
        for problem in error.problems:
            print(problem)
        print(f"{path}: {len(error.problems)} problem(s); the policy was not accepted.")
        return 1
    policy = loaded.policy
    print(
        f"{path}: OK. {len(policy.systems)} systems, {len(policy.people)} people, "
        f"{len(policy.roles)} roles; digest {loaded.digest}"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.database import safe_url
    from bot.storage.migrate import upgrade

    print(f"Migrating {safe_url(settings.database)} to {args.revision} ...", file=sys.stderr)
    asyncio.run(upgrade(settings.database, args.revision))
    print("Database is up to date.", file=sys.stderr)
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms.ports import platform_ports
    from bot.policy.source import PolicyHolder, policy_path
    from bot.runtime import build_runtime, utc_now
    from bot.scheduling.sweep import run_sweep
    from bot.storage.migrate import current_revision, head_revision
    from workflows.ledger import parse_time

    try:
        now = parse_time(args.now) if args.now else utc_now()
    except ValueError:
        print(f"signoff sweep: --now {args.now!r} is not an RFC 3339 time, such as "
              "2026-12-01T09:00:00Z", file=sys.stderr)  # fmt: skip
        return 2
    started = time.monotonic()

    def clock() -> datetime:
        # Time goes on from --now as it does for real, so pacing and Retry-After pass.
        return now + timedelta(seconds=time.monotonic() - started)

    async def sweep() -> int:
        current = await current_revision(settings.database)
        if current != head_revision():
            print(
                f"The database is at revision {current}, not {head_revision()}; "
                "run `signoff db upgrade` first.",
                file=sys.stderr,
            )
            return 1
        policies = PolicyHolder(policy_path(settings))
        platforms = platform_ports(settings, clock, lambda: policies.current.policy)
        # With no platform here, delivering would dead-letter the server's pending rows as
        # "platform not enabled": leave them to the server.
        deliver = bool(platforms.ports or platforms.factories)
        if not deliver:
            log.warning(
                "sweep: no platform is configured here, so nothing is queued or sent; "
                "set the Slack or Teams settings the server has (see the README)"
            )
        runtime = await build_runtime(
            settings, policies, clock, ports=platforms.ports, port_factories=platforms.factories
        )
        from bot.platforms.github import attach_github

        github = attach_github(settings, runtime)
        try:
            report = await run_sweep(runtime, now, deliver=deliver, patience=SWEEP_PATIENCE)
        finally:
            await platforms.close()
            if github is not None:
                await github.close()
            await runtime.engine.dispose()
        print(f"Sweep at {now.isoformat()}: {report.summary()}.")
        return 0

    return asyncio.run(sweep())


def cmd_clients(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms.api_tokens_cli import run_clients
    from workflows.durations import parse_duration

    try:
        overlap = parse_duration(args.overlap) if args.clients_command == "rotate" else None
    except ValueError as error:
        print(f"signoff clients rotate: --overlap: {error}", file=sys.stderr)
        return 2
    return asyncio.run(run_clients(settings, args.clients_command, args.name, overlap))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import serve

    return serve(settings)


def cmd_teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms.teams_package import write_package

    app_id = args.app_id or settings.microsoft_app_id
    if not app_id:
        log.error("no app id: pass --app-id or set MICROSOFT_APP_ID (the bot's client id)")
        return 2
    try:
        out = write_package(app_id.strip(), Path(args.output))
    except ValueError as error:
        log.error("%s", error)
        return 2
    print(
        f"wrote {out}: upload it in Teams under Apps > Manage your apps > Upload an app, "
        "or give it to your Teams administrator"
    )
    return 0


def _positive(text: str) -> int:
    number = int(text) if text.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    from bot.audit.commands import add_audit_commands
    from bot.platforms.evidence_cli import add_evidence_command

    parser = argparse.ArgumentParser(
        prog="signoff",
        description="Human-in-the-loop approvals for AI operations, driven by a RACI policy file.",
        epilog="Configuration comes from the environment: DATABASE_URL, SIGNOFF_POLICY, HOST, "
        "PORT, LOG_LEVEL, LOG_FORMAT and the Slack and Teams credentials (see the README).",
    )
    parser.add_argument("--version", action="version", version=f"signoff {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP server (health, metrics, platforms)")
    serve.set_defaults(run=cmd_serve)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the latest schema")
    upgrade.add_argument("revision", nargs="?", default="head", help="default: head")
    upgrade.set_defaults(run=cmd_db_upgrade)

    policy = commands.add_parser("policy", help="the RACI policy file")
    policy_commands = policy.add_subparsers(
        dest="policy_command", required=True, metavar="SUBCOMMAND"
    )
    check = policy_commands.add_parser(
        "check", help="validate a policy file; prints FILE:LINE: reason for every problem"
    )
    check.add_argument("file", nargs="?", help="default: SIGNOFF_POLICY or the bundled example")
    check.set_defaults(run=cmd_policy_check)

    add_evidence_command(add_audit_commands(commands, _positive))

    sweep = commands.add_parser(
        "sweep", help="one scheduler pass: reminders, escalations, expiries, then delivery"
    )
    sweep.add_argument("--now", help="act as if it were this RFC 3339 time (default: now)")
    sweep.set_defaults(run=cmd_sweep)

    clients = commands.add_parser("clients", help="API clients' tokens (pipelines, agents)")
    client_commands = clients.add_subparsers(
        dest="clients_command", required=True, metavar="SUBCOMMAND"
    )
    for name, about in (
        ("issue", "print a new token and callback signing secret for a client (once)"),
        ("rotate", "print new ones; the old ones work until the overlap ends"),
        ("revoke", "end every token and signing secret of the client at once"),
    ):
        sub = client_commands.add_parser(name, help=about)
        sub.add_argument("name", help="the client's name under clients: in the policy")
        if name == "rotate":
            sub.add_argument("--overlap", default="1h", help="how long the old ones still work")
        sub.set_defaults(run=cmd_clients)

    teams = commands.add_parser("teams", help="Microsoft Teams")
    teams_commands = teams.add_subparsers(dest="teams_command", required=True, metavar="SUBCOMMAND")
    package = teams_commands.add_parser(
        "package", help="write the Teams app package (manifest.json and icons) as a zip"
    )
    package.add_argument("--app-id", help="the bot's Entra client id (default: MICROSOFT_APP_ID)")
    package.add_argument("--output", "-o", default="signoff-teams.zip", help="zip file to write")
    package.set_defaults(run=cmd_teams_package)
    for name, about in AGENT_COMMANDS.items():  # listed here, run by bot.agents.command
        commands.add_parser(name, help=about, add_help=False)
    for name, about in CLIENT_COMMANDS.items():  # listed here, run by bot.client.request
        commands.add_parser(name, help=about, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given and given[0] in CLIENT_COMMANDS:
        from bot.client.request import main as client

        return client(given)
    if given and given[0] in AGENT_COMMANDS:
        from bot.agents.command import main as agents

        return agents(given[1:])
    from bot.observability.logs import setup_logging
    from bot.settings import Settings

    args = build_parser().parse_args(given)
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            where = "_".join(str(part) for part in problem["loc"]).upper() or "configuration"
            print(f"signoff: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_format)
    code: int = args.run(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
