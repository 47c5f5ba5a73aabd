"""What the CI client tells the pipeline: who was asked, each vote, the decision, the summary.

Reads request views (API v1's JSON) and writes text: log lines, the GitHub step summary and
step outputs. Standard library only; never `bot` outside `bot.client`, nor any package.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any

View = dict[str, Any]


def subject(view: View) -> str:
    text = f"{view['activity']} {view['system']}"
    if view.get("version"):
        text += f" {view['version']}"
    return text + (f" to {view['environment']}" if view.get("environment") else "")


def console_link(view: View, base_url: str) -> str:
    link: str = view["links"]["console"]
    return urllib.parse.urljoin(base_url.rstrip("/") + "/", link)


def asked(view: View, system: View | None, base_url: str) -> list[str]:
    """Who the request waits for, as far as this client may know, and where to follow it."""
    needed = view["quorum"]["needed"]
    role = (system or {}).get("accountable", {}).get(view["activity"])
    who = f"the Accountable role {role}" if role else "the Accountable people of the policy"
    lines = [f"Asked {who} of {view['system']}: {needed} approval(s) needed."]
    if view.get("waiting_for") == "consultation":
        lines.append("The Consulted are asked first; the Accountable decide after them.")
    if view.get("frozen_by"):
        lines.append(f"Frozen by incident {view['frozen_by']} until it closes.")
    expires = view.get("deadlines", {}).get("expires_at")
    if expires:
        lines.append(f"Unless decided, it expires at {expires} and the gate stays closed.")
    lines.append(f"Follow it at {console_link(view, base_url)}")
    return lines


def changes(old: View | None, new: View) -> list[str]:
    """A line for each vote and consultation answer `new` has that `old` had not."""
    before = old or {"quorum": {"approvals": []}, "consultation": {"answered": [], "concerns": []}}
    seen = {(a["person"], a["platform"]) for a in before["quorum"]["approvals"]}
    lines = [
        f"Approved by {a['person']} ({a['platform']}) at {a['at']}{_said(a)}"
        for a in new["quorum"]["approvals"]
        if (a["person"], a["platform"]) not in seen
    ]
    for key, line in (("answered", "Consulted {} answered"), ("concerns", "Concern: {}")):
        known = set(before["consultation"][key])
        lines += [line.format(item) for item in new["consultation"][key] if item not in known]
    if old and new.get("waiting_for") != old.get("waiting_for") and new.get("waiting_for"):
        lines.append(f"Now waiting for the {new['waiting_for']}.")
    return lines


def _said(vote: View) -> str:
    """`: "their words"` when the approver wrote something, for the line naming them."""
    return f': "{vote["comment"]}"' if vote.get("comment") else ""


def approvers(view: View) -> list[str]:
    return list(dict.fromkeys(a["person"] for a in view["quorum"]["approvals"]))


def decision(view: View) -> str:
    """The outcome in one sentence, naming who decided and why."""
    status = view["status"]
    if status == "approved":
        said = [
            f"{a['person']}: {a['comment']}"
            for a in view["quorum"]["approvals"]
            if a.get("comment")
        ]
        why = f" ({'; '.join(said)})" if said else ""
        return f"Approved by {', '.join(approvers(view))}: {subject(view)}.{why}"
    if status == "rejected":
        rejection = view.get("rejection") or {}
        reason = rejection.get("reason") or "no reason given"
        return f"Rejected by {rejection.get('person', 'an Accountable person')}: {reason}"
    if status == "expired":
        return f"Expired at {view['deadlines']['expires_at']}: nobody decided in time."
    if status == "cancelled":
        return "Cancelled: nothing may proceed on it."
    return f"Still pending, waiting for the {view.get('waiting_for') or 'decision'}."


def _cell(text: object) -> str:
    """Text a person wrote, made safe for one Markdown table cell."""
    flat = " ".join(str(text).split())
    return flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary(view: View, base_url: str, artifact_note: str | None) -> str:
    """The step summary: Markdown that GitHub shows on the run's page."""
    rows = [("Request", f"[{_cell(view['id'])}]({console_link(view, base_url)})")]
    rows.append(("Status", f"**{view['status']}**"))
    if view["quorum"]["approvals"]:
        votes = (
            f"{a['person']} ({a['platform']}, {a['at']}){_said(a)}"
            for a in view["quorum"]["approvals"]
        )
        rows.append(("Approved by", _cell(", ".join(votes))))
    if view.get("rejection"):
        rejection = view["rejection"]
        reason = rejection.get("reason") or "no reason given"
        rows.append(("Rejected by", _cell(f"{rejection['person']}: {reason}")))
    if view["consultation"]["concerns"]:
        rows.append(("Concerns", _cell("; ".join(view["consultation"]["concerns"]))))
    if artifact_note:
        rows.append(("Artifact", _cell(artifact_note)))
    ledger = view.get("ledger") or {}
    if ledger.get("last_seq") is not None:
        rows.append(("Ledger", f"entries {ledger['first_seq']} to {ledger['last_seq']}"))
        rows.append(("Head hash", f"`{ledger['head_hash']}`"))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    title = _cell(f"Signoff: {subject(view)}")
    return f"### {title}\n\n{_cell(decision(view))}\n\n| | |\n|---|---|\n{table}\n\n"


def outputs(view: View) -> dict[str, str]:
    """The Action's outputs: request-id, status, approvers, ledger-seq."""
    seq = (view.get("ledger") or {}).get("last_seq")
    return {
        "request-id": view["id"],
        "status": view["status"],
        "approvers": ",".join(approvers(view)),
        "ledger-seq": "" if seq is None else str(seq),
    }


def write_github_files(view: View, base_url: str, artifact_note: str | None) -> None:
    """The outcome in the step summary and the step outputs, when the runner provides them."""
    write_summary(summary(view, base_url, artifact_note))
    output_path = os.environ.get("GITHUB_OUTPUT")
    if output_path:
        with open(output_path, "a", encoding="utf-8") as out:
            for name, value in outputs(view).items():
                out.write(f"{name}={' '.join(value.split())}\n")


def write_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(markdown)


def failure(title: str, why: object) -> str:
    """The step summary of a call Signoff refused or never answered: no request to show."""
    return f"### Signoff: {_cell(title)}\n\n{_cell(why)}\n\nNothing may proceed on it.\n\n"
