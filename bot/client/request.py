"""`signoff request|status|cancel`: a pipeline asks people to approve, and waits for them.

The CI client's entry. Runs on a bare interpreter from a checkout (`python
bot/client/request.py ...`: run as a file, it puts its checkout on sys.path to find
`bot.client`) and as `signoff request ...`. Imports the standard library and `bot.client` only.
Exit codes: 0 approved (and, with --artifact, approved for that digest), 1 rejected or approved
for another artifact, 2 expired, 3 cancelled, 4 refused, 5 still pending at --timeout, 64
usage, 69 Signoff unreachable. No option lets a pipeline pass while Signoff is down.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import signal
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

if not __package__:  # run as a file: the package is two folders up, after the standard library
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from bot.client import report
from bot.client.arguments import USAGE, build_parser
from bot.client.wire import Api, GithubToken, Refused, Unreachable, Usage, View, patiently

Say = Callable[[str], None]
EXIT = {"approved": 0, "rejected": 1, "expired": 2, "cancelled": 3}
REFUSED, PENDING, UNREACHABLE = 4, 5, 69
LONG_POLL = 30  # the longest ?wait= Signoff holds a read
OPEN_PATIENCE = 120.0  # how long opening, reading or cancelling is retried without an answer


class Stop(BaseException):
    """SIGTERM or SIGINT while waiting: the job was cancelled or timed out. A BaseException,
    so that no handler of errors swallows it."""


def connect(args: argparse.Namespace) -> Api:
    url = (args.url or "").rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Usage("--url must be Signoff's http(s) address (or set SIGNOFF_URL)")
    if args.oidc == "github":
        return Api(url, GithubToken(args.audience or url), renewable=True)
    secret = os.environ.get(args.token_env, "").strip()
    if not secret:
        raise Usage(f"no token: set {args.token_env}, or pass --oidc github on GitHub Actions")
    return Api(url, lambda fresh: secret, renewable=False)


def ci_run(args: argparse.Namespace, say: Say) -> tuple[str, dict[str, str] | None]:
    """The idempotency key and the CI context: one request per run, attempt, job, system,
    activity and environment, so a retried step finds the request it opened."""
    env = os.environ
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        repository, run = env["GITHUB_REPOSITORY"], env["GITHUB_RUN_ID"]
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        parts = [
            "github",
            repository,
            run,
            env.get("GITHUB_RUN_ATTEMPT", "1"),
            env.get("GITHUB_JOB", ""),
        ]
        run_url, sha = f"{server}/{repository}/actions/runs/{run}", env.get("GITHUB_SHA", "")
    elif env.get("GITLAB_CI") and env.get("CI_PIPELINE_ID"):
        repository, run = env.get("CI_PROJECT_PATH", ""), env["CI_PIPELINE_ID"]
        parts = ["gitlab", repository, run, env.get("CI_JOB_NAME", "")]
        run_url, sha = env.get("CI_PIPELINE_URL", ""), env.get("CI_COMMIT_SHA", "")
    else:
        if not args.idempotency_key:
            say("No CI run to name this request by: a retry opens a new one (--idempotency-key).")
        return args.idempotency_key or f"once-{uuid.uuid4()}", None
    parts += [args.system, args.activity, args.environment or ""]
    key = f"{parts[0]}-{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()[:40]}"
    context = {
        "provider": parts[0],
        "repository": repository,
        "run_id": run,
        "run_url": run_url,
        "sha": sha,
    }
    return args.idempotency_key or key, {name: value for name, value in context.items() if value}


def open_request(api: Api, args: argparse.Namespace, say: Say) -> tuple[View, str | None]:
    key, ci = ci_run(args, say)
    body: dict[str, Any] = {
        "system": args.system,
        "activity": args.activity,
        "version": args.version,
    }
    for name in ("environment", "reason"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.artifact:
        body["artifact"] = {"digest": args.artifact}
    if ci:
        body["context"] = {"ci": ci}
    deadline = time.monotonic() + min(OPEN_PATIENCE, args.timeout)
    call = functools.partial(api.call, "POST", "/api/v1/requests", body, {"Idempotency-Key": key})
    status, headers, view = patiently(call, deadline, say)
    say(f"{'Opened' if status == 201 else 'Resumed'} request {view['id']}: {report.subject(view)}")
    return view, headers.get("etag")


def tell_who_was_asked(api: Api, view: View, url: str, say: Say) -> None:
    if view["status"] == "pending":
        try:
            path = f"/api/v1/systems/{urllib.parse.quote(view['system'], safe='')}"
            system: View | None = api.call("GET", path, timeout=10)[2]
        except (Refused, Unreachable):
            system = None  # who holds the role is a courtesy; the request stands without it
        for line in report.asked(view, system, url):
            say(line)
    for line in report.changes(None, view):
        say(line)


def wait(api: Api, view: View, tag: str | None, deadline: float, say: Say) -> View:
    """Long-polls until the request is decided or the deadline; says each vote as it comes."""
    while view["status"] == "pending":
        seconds = int(min(LONG_POLL, deadline - time.monotonic()))
        if seconds < 1:
            break
        path = api.request_path(view["id"], f"?wait={seconds}")
        headers = {"If-None-Match": tag} if tag else {}
        call = functools.partial(api.call, "GET", path, None, headers, seconds + 15)
        status, answer_headers, answer = patiently(call, deadline, say)
        if status == 304 or answer is None:
            continue
        for line in report.changes(view, answer):
            say(line)
        view, tag = answer, answer_headers.get("etag")
    return view


def finish(view: View, args: argparse.Namespace, say: Say) -> int:
    """Says the outcome, writes it for GitHub, and turns it into the exit code."""
    expected, note, matches = getattr(args, "artifact", None), None, True
    if expected and view["status"] == "approved":
        approved = (view.get("artifact") or {}).get("digest")
        matches = approved == expected
        note = (f"{expected} is the approved artifact" if matches else
                f"MISMATCH: the approved artifact is {approved or 'none'}, not {expected}; "
                "this artifact was not approved")  # fmt: skip
    say(report.decision(view))
    if note:
        say(note)
    report.write_github_files(view, args.url, note)
    if args.json:
        print(json.dumps(view, indent=2), flush=True)
    if view["status"] not in EXIT:
        if getattr(args, "wait", False):
            say("Still pending at --timeout; run this step again to go on waiting.")
        else:
            say(f"Still pending; `signoff status {view['id']} --wait` waits for the decision.")
        return PENDING
    return EXIT[view["status"]] or (0 if matches else EXIT["rejected"])


def _on_signal(signum: int, frame: object) -> NoReturn:
    raise Stop(signal.Signals(signum).name)


def cancel_on_stop(api: Api, view: View, why: str, args: argparse.Namespace, say: Say) -> int:
    # The runner follows its signal with harder ones: no second interruption of the cancel.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
    reason, code = f"pipeline cancelled ({why})", EXIT["cancelled"]
    try:
        path = api.request_path(view["id"], "/cancel")
        view = api.call("POST", path, {"reason": reason}, timeout=5)[2]
        say(f"{why}: cancelled request {view['id']}: {reason}.")
    except (Refused, Unreachable) as error:
        # Decided a moment ago, or out of reach: either way this job stops, so never 0.
        code = UNREACHABLE if isinstance(error, Unreachable) else code
        say(f"{why}: Signoff did not cancel request {view['id']}: {error}")
    report.write_github_files(view, args.url, None)
    return code


def cmd_request(api: Api, args: argparse.Namespace, say: Say) -> int:
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _on_signal)
    try:
        view, tag = open_request(api, args, say)
    except Stop as stop:
        say(f"{stop} while opening: this step asked Signoff for nothing it knows of.")
        return EXIT["cancelled"]
    try:
        tell_who_was_asked(api, view, args.url, say)
        if args.wait:
            view = wait(api, view, tag, time.monotonic() + args.timeout, say)
    except Stop as stop:
        return cancel_on_stop(api, view, str(stop), args, say)
    return finish(view, args, say)


def cmd_status(api: Api, args: argparse.Namespace, say: Say) -> int:
    deadline = time.monotonic() + args.timeout
    call = functools.partial(api.call, "GET", api.request_path(args.id))
    _, headers, view = patiently(call, min(deadline, time.monotonic() + OPEN_PATIENCE), say)
    say(f"Request {view['id']}: {report.subject(view)}")
    tell_who_was_asked(api, view, args.url, say)
    if args.wait:
        view = wait(api, view, headers.get("etag"), deadline, say)
    return finish(view, args, say)


def cmd_cancel(api: Api, args: argparse.Namespace, say: Say) -> int:
    path = api.request_path(args.id, "/cancel")
    call = functools.partial(api.call, "POST", path, {"reason": args.reason})
    view = patiently(call, time.monotonic() + OPEN_PATIENCE, say)[2]
    say(f"Cancelled request {view['id']}: {report.subject(view)}")
    return finish(view, args, say)


COMMANDS = {"request": cmd_request, "status": cmd_status, "cancel": cmd_cancel}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stream = sys.stderr if args.json else sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    try:
        return COMMANDS[args.command](connect(args), args, say)
    except Usage as error:
        print(f"signoff {args.command}: {error}", file=sys.stderr)
        return USAGE
    except Refused as error:
        say(f"Refused by Signoff: {error}")
        report.write_summary(report.failure(f"{args.command} refused", error))
        return REFUSED
    except Unreachable as error:
        say(f"Signoff did not answer at {args.url}: {error}. Nothing proceeds without it.")
        report.write_summary(report.failure(f"no answer from {args.url}", error))
        return UNREACHABLE


if __name__ == "__main__":
    sys.exit(main())
