"""The bot's token is held while MSAL's cache would hand out the same one.

Each of a click's half-dozen outbound calls asks for the token; MSAL answers from its cache,
but from a thread and after searching it. Counted as the calls that reach MSAL, never timed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.teams.entra import EntraTokens
from tests.entra_standin import EntraStandIn, token_for
from tests.teams_world import entra_tokens

SCOPE = "https://api.botframework.com/.default"


async def count_msal_calls(tokens: EntraTokens, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of MSAL's `acquire_token_for_client`, with where its token came from."""
    # Made in a thread, as the provider does: MSAL reads the authority's metadata as it starts.
    app = await asyncio.to_thread(tokens._application)
    real = app.acquire_token_for_client
    calls: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(result.get("token_source", "?"))
        return result

    monkeypatch.setattr(app, "acquire_token_for_client", counted)
    return calls


async def test_a_token_from_msals_cache_is_held(
    entra: EntraStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = entra_tokens(entra)
    calls = await count_msal_calls(tokens, monkeypatch)
    for _ in range(5):
        assert await tokens.get_access_token("https://api.botframework.com", [SCOPE]) == (
            token_for(SCOPE)
        )
    # The first from Entra ID, the second from MSAL's cache, then held.
    assert calls == ["identity_provider", "cache"]
    assert entra.requests == 1
    await tokens.close()


async def test_each_scope_is_held_apart_and_closing_lets_go(
    entra: EntraStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = entra_tokens(entra)
    graph = "https://graph.microsoft.com/.default"
    for _ in range(3):
        assert await tokens.get_access_token("", [SCOPE]) == token_for(SCOPE)
        assert await tokens.get_access_token("", [graph]) == token_for(graph)
    assert entra.requests == 2
    await tokens.close()
    calls = await count_msal_calls(tokens, monkeypatch)
    assert await tokens.get_access_token("", [SCOPE]) == token_for(SCOPE)
    assert calls == ["identity_provider"]  # a new MSAL, with nothing cached
    assert entra.requests == 3
    await tokens.close()
