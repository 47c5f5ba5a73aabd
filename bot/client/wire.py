"""API v1 over urllib for the CI client: answers, refusals, retries and workload identity.

Standard library only (a bare interpreter on a CI runner imports it); never `bot` outside
`bot.client`, pydantic, aiohttp or any installed package.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

View = dict[str, Any]
Answer = tuple[int, dict[str, str], Any]
T = TypeVar("T")
# GitHub's ID tokens are short-lived: one older than this is asked for again before use.
TOKEN_AGE = 240.0


class Usage(Exception):
    """The command line or the environment cannot make a request: exit 64."""


class Unreachable(Exception):
    """No answer, a 5xx, a 429 or a key in flight: retried while time is left, else exit 69."""

    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.retry_after = retry_after


class Refused(Exception):
    """Signoff said no (a 4xx problem); never retried."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        title, detail = problem.get("title") or f"HTTP {status}", problem.get("detail") or ""
        super().__init__(f"{title}: {detail}" if detail else title)
        self.status, self.type = status, str(problem.get("type", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A followed redirect would carry the bearer token to wherever it points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def fetch(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request, timeout: float
) -> Answer:
    """(status, headers, JSON object) of a 2xx, or a 304 without a body; raises Unreachable
    or Refused for anything else. Header names are lower case."""
    try:
        with opener.open(request, timeout=timeout) as response:
            status, headers, body = response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, _lower(error.headers), error.read()
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise Unreachable(str(getattr(error, "reason", error))) from None
    document = _json(body)
    if status == 304:
        return status, headers, None
    if 200 <= status < 300:
        if not isinstance(document, dict):
            raise Unreachable(f"HTTP {status} without a JSON object")
        return status, headers, document
    problem = document if isinstance(document, dict) else {}
    why = f"HTTP {status} {problem.get('detail') or problem.get('title') or ''}".strip()
    if status == 429 or status >= 500:
        raise Unreachable(why, _retry_after(headers.get("retry-after")))
    if status == 409 and str(problem.get("type", "")).endswith("/in-flight"):
        raise Unreachable(why, 1.0)
    raise Refused(status, problem or {"title": why})


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}


class GithubToken:
    """The runner's ID token for Signoff's audience, asked again when old or refused."""

    def __init__(self, audience: str) -> None:
        url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        self.bearer = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if not url or not self.bearer:
            raise Usage("--oidc github needs the job's `permissions: id-token: write`")
        query = urllib.parse.urlencode({"audience": audience})
        self.url, self.value, self.at = f"{url}{'&' if '?' in url else '?'}{query}", "", 0.0

    def __call__(self, fresh: bool) -> str:
        if fresh or not self.value or time.monotonic() - self.at > TOKEN_AGE:
            ask = urllib.request.Request(
                self.url, headers={"Authorization": f"Bearer {self.bearer}"}
            )
            try:
                _, _, body = fetch(urllib.request.build_opener(_NoRedirect), ask, 20)
            except (Unreachable, Refused) as error:
                raise Unreachable(f"GitHub gave no ID token: {error}") from None
            if not isinstance(body, dict) or not isinstance(body.get("value"), str):
                raise Unreachable("GitHub's ID token answer holds no token")
            self.value, self.at = body["value"], time.monotonic()
        return self.value


class Api:
    """API v1 over urllib: JSON in and out, a renewed token on a 401, no redirects."""

    def __init__(self, url: str, token: Callable[[bool], str], renewable: bool) -> None:
        self.url, self.token, self.renewable = url.rstrip("/"), token, renewable
        self.opener = urllib.request.build_opener(_NoRedirect)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        for fresh in (False, True) if self.renewable else (False,):
            sent["Authorization"] = f"Bearer {self.token(fresh)}"
            ask = urllib.request.Request(self.url + path, data, sent, method=method)
            try:
                return fetch(self.opener, ask, timeout)
            except Refused as error:
                if error.status != 401 or fresh or not self.renewable:
                    raise
        raise AssertionError("unreachable")

    def request_path(self, request_id: str, tail: str = "") -> str:
        return f"/api/v1/requests/{urllib.parse.quote(request_id, safe='')}{tail}"


def patiently(call: Callable[[], T], deadline: float, say: Callable[[str], None]) -> T:
    """`call()` until it answers; no answer, 5xx and 429 are retried with backoff, or as
    Retry-After says, until the deadline, and then raised."""
    attempt = 0
    while True:
        try:
            return call()
        except Unreachable as error:
            attempt += 1
            pause = error.retry_after
            if pause is None:
                pause = min(30.0, 2.0**attempt) * random.uniform(0.5, 1.0)
            if time.monotonic() + pause > deadline:
                raise
            say(f"No answer from Signoff ({error}); trying again in {pause:.0f}s")
            time.sleep(pause)
