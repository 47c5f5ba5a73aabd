"""`signoff mcp`: check the environment and the MCP SDK, then serve the tools over stdio.

Standard output belongs to the MCP protocol: everything said here goes to standard error.
Imports the standard library and `bot.agents`; the MCP SDK only once it is known to be there.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.agents import asking

INSTALL = "pip install 'signoff[mcp]'"
CONFIGURATION = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signoff mcp",
        description="A stdio MCP server with which AI agents ask Signoff's people for approval "
        "and wait for them. Tools: request_approval, wait_for_decision, get_request, "
        "cancel_request, list_my_requests, describe_system; none can approve.",
        epilog="Environment: SIGNOFF_URL (Signoff's address), SIGNOFF_TOKEN (the agent's client "
        "token, from `signoff clients issue`), and optionally SIGNOFF_ON_BEHALF_OF (the policy "
        "person the agent acts for) and SIGNOFF_AGENT_SESSION (shown to approvers). "
        f"Needs the MCP SDK: {INSTALL}.",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    build_parser().parse_args(argv)
    try:
        from bot.agents.mcp_server import build_server
    except ImportError as error:
        print(
            f"signoff mcp: the MCP SDK is not installed ({error}). Install it with: {INSTALL}",
            file=sys.stderr,
        )
        return CONFIGURATION
    try:
        api = asking.connect()
    except asking.Misconfigured as error:
        print(f"signoff mcp: {error}", file=sys.stderr)
        return CONFIGURATION
    on_behalf_of = os.environ.get("SIGNOFF_ON_BEHALF_OF", "").strip() or None
    session = os.environ.get("SIGNOFF_AGENT_SESSION", "").strip() or None
    build_server(api, on_behalf_of, session).run("stdio")
    return 0
