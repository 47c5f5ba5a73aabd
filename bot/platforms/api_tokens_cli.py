"""`signoff clients issue|rotate|revoke NAME`: API client tokens from the command line.

Prints a new token once on standard output (the database keeps its hash); every message
for the operator goes to standard error.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from bot.policy.source import PolicyHolder, policy_path
from bot.runtime import build_runtime, utc_now
from bot.services.api_tokens import AlreadyIssued, NotATokenClient, TokenService
from bot.settings import Settings


async def run_clients(
    settings: Settings, command: str, name: str, overlap: timedelta | None
) -> int:
    """The exit code: 0 done, 1 refused (the policy does not list the client, or it holds a
    token already)."""
    runtime = await build_runtime(settings, PolicyHolder(policy_path(settings)), utc_now)
    tokens = TokenService(runtime.service.uow)
    try:
        if command == "revoke":
            ended = await tokens.revoke(name)
            print(f"Revoked {len(ended)} token(s) of {name}; they are refused from now on.")
            return 0
        token = await tokens.issue(name, rotating=overlap if command == "rotate" else None)
    except (NotATokenClient, AlreadyIssued) as error:
        print(f"signoff clients {command}: {error}", file=sys.stderr)
        return 1
    finally:
        await runtime.engine.dispose()
    print(token)
    print(f"The token of {name} is shown once; store it as a secret.", file=sys.stderr)
    return 0
