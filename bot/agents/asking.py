"""What an agent sends to API v1 and reads back: the request body, short reads, what it means.

Shared by `signoff mcp` and `require_approval`. Over `bot.client.wire` (urllib), so it runs
anywhere Python does; imports the standard library, `bot.client` and `workflows.redaction`
only, never the server's rooms or an SDK. `details` leave this machine only as a digest and
a masked preview: the raw arguments are never sent.
"""

from __future__ import annotations

import functools
import json
import os
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from bot.client.wire import Api, Refused, Unreachable, View, patiently
from workflows import redaction

LONG_POLL = 30  # the longest ?wait= API v1 holds a read
PATIENCE = 10.0  # how long one call is retried while Signoff does not answer
DECIDED = ("approved", "rejected", "expired", "cancelled")


class Misconfigured(Exception):
    """SIGNOFF_URL or SIGNOFF_TOKEN is missing or not usable."""


@dataclass(frozen=True)
class Agent:
    """Who asks: the agent's name and session, and the person it acts for, if any."""

    name: str
    session: str | None = None
    on_behalf_of: str | None = None


def connect(url: str | None = None, token: str | None = None) -> Api:
    """API v1 at `url` (default SIGNOFF_URL) with the client token (default SIGNOFF_TOKEN)."""
    url = (url or os.environ.get("SIGNOFF_URL", "")).strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Misconfigured("set SIGNOFF_URL to Signoff's http(s) address")
    secret = (token or os.environ.get("SIGNOFF_TOKEN", "")).strip()
    if not secret:
        raise Misconfigured(
            "set SIGNOFF_TOKEN to this agent's client token (signoff clients issue)"
        )
    return Api(url, lambda fresh: secret, renewable=False)


def body(
    agent: Agent,
    system: str,
    activity: str,
    summary: str,
    reason: str | None,
    details: Any = None,
    tool: str | None = None,
    version: str | None = None,
    environment: str | None = None,
) -> dict[str, Any]:
    """The `POST /api/v1/requests` body. API v1 has no summary field, so the summary leads
    the reason, where approvers read it; text a model wrote is masked as `details` are."""
    said = summary.strip() if not reason or not reason.strip() else f"{summary} — {reason}"
    context: dict[str, Any] = {"name": agent.name[:100]}
    if agent.session:
        context["session"] = agent.session[:200]
    if tool:
        context["tool"] = tool[:200]
    if details is not None:
        context["arguments_digest"] = redaction.digest(details)
        context["preview"] = redaction.preview(details)
    sent: dict[str, Any] = {
        "system": system,
        "activity": activity,
        "reason": redaction.mask_text(said)[:2000],
        "context": {"agent": context},
    }
    for name, value in (("version", version), ("environment", environment)):
        if value:
            sent[name] = value
    if agent.on_behalf_of:
        sent["on_behalf_of"] = agent.on_behalf_of
    return sent


def new_key() -> str:
    """A key for one ask. A retry of the same call reuses it; a new call asks afresh, so an
    approval once given is never found again for a second action by accident."""
    return f"agent-{uuid.uuid4()}"


def _patient(
    api: Api,
    method: str,
    path: str,
    sent: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 20,
) -> Any:
    call = functools.partial(api.call, method, path, sent, headers, timeout)
    return patiently(call, time.monotonic() + PATIENCE, lambda line: None)


def open_request(api: Api, sent: dict[str, Any], key: str) -> tuple[View, str | None, bool]:
    """(the view, its ETag, whether it was opened now rather than found by its key)."""
    status, headers, view = _patient(
        api, "POST", "/api/v1/requests", sent, {"Idempotency-Key": key}
    )
    return view, headers.get("etag"), status == 201


def get(api: Api, request_id: str) -> tuple[View, str | None]:
    _, headers, view = _patient(api, "GET", api.request_path(request_id))
    return view, headers.get("etag")


def poll(api: Api, view: View, tag: str | None, seconds: int) -> tuple[View, str | None]:
    """The view once it changes or `seconds` (at most 30) pass; the same view if unchanged."""
    path = api.request_path(view["id"], f"?wait={max(0, min(LONG_POLL, seconds))}")
    headers = {"If-None-Match": tag} if tag else {}
    status, answer_headers, answer = _patient(api, "GET", path, None, headers, timeout=seconds + 5)
    if status == 304 or answer is None:
        return view, tag
    return answer, answer_headers.get("etag")


def cancel(api: Api, request_id: str, reason: str) -> View:
    view: View = _patient(api, "POST", api.request_path(request_id, "/cancel"), {"reason": reason})[
        2
    ]
    return view


def listed(api: Api, status: str | None) -> View:
    query = f"?{urllib.parse.urlencode({'status': status})}" if status else ""
    page: View = _patient(api, "GET", f"/api/v1/requests{query}")[2]
    return page


def system(api: Api, system_id: str) -> View:
    found: View = _patient(api, "GET", f"/api/v1/systems/{urllib.parse.quote(system_id, safe='')}")[
        2
    ]
    return found


def whoami(api: Api) -> View:
    who: View = _patient(api, "GET", "/api/v1/whoami")[2]
    return who


def approvers(view: View) -> list[str]:
    return [vote["person"] for vote in (view.get("quorum") or {}).get("approvals", [])]


def cancelled_by(api: Api, view: View) -> str | None:
    """Who cancelled a request, from its ledger: a person, or `api:<client>`."""
    try:
        events = _patient(api, "GET", api.request_path(view["id"], "/events"))[2]
    except (Refused, Unreachable):
        return None
    actors = [e["actor"] for e in events.get("items", []) if e.get("action") == "cancelled"]
    return actors[-1] if actors else None


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
