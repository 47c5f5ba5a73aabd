"""`signoff clients issue|rotate|revoke NAME`: API client credentials from the command line.

Prints them once on standard output, the token on the first line (the database keeps its
hash) and the `whsec_` secret that signs the client's callbacks on the next (the database
keeps it, since signing needs it); a client that signs in with GitHub or GitLab gets the
secret alone. Every message for the operator goes to standard error.
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
            print(
                f"Revoked {len(ended)} token(s) of {name} and its signing secret; they are "
                "refused from now on, and callbacks still queued for it are dead-lettered."
            )
            return 0
        issued = await tokens.credentials(name, rotating=overlap if command == "rotate" else None)
    except (NotATokenClient, AlreadyIssued) as error:
        print(f"signoff clients {command}: {error}", file=sys.stderr)
        return 1
    finally:
        await runtime.engine.dispose()
    if issued.token is not None:
        print(issued.token)
    print(issued.signing_secret)
    if issued.token is not None:
        said = (
            f"Line 1 is the token of {name}, line 2 the secret that signs its callbacks "
            "(Standard Webhooks); both are shown once: store them as secrets."
        )
    else:
        said = (
            f"This is the secret that signs the callbacks of {name} (Standard Webhooks); "
            "it is shown once: store it as a secret."
        )
    print(said, file=sys.stderr)
    return 0
