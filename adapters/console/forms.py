"""Console forms into the core's commands: a browser's fields become the same `OpenRequest`,
`Answer` and `Cancel` a chat message or a button would; pure of `bot`, decides nothing.

Who the actor is comes from the session, never from a field.
"""

from __future__ import annotations

from collections.abc import Mapping

from workflows.commands import Answer, Cancel, OpenRequest
from workflows.model import Actor, Verdict
from workflows.wording import missing_field

PLATFORM = "web"
LIMIT = 2000  # the longest reason or comment kept, as API v1 allows
# The fields of the ask form that come back filled in when the machine refuses it.
REFILLED = ("target", "version", "environment", "reason")
# The ask form's labels, as a refusal about a field left empty names it.
LABELS = {"version": "Version"}


class FormError(ValueError):
    """A field missing or malformed: answered 400, nothing changed."""


def _text(form: Mapping[str, str], name: str, limit: int = LIMIT) -> str | None:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise FormError(f"{name} is longer than {limit} characters")
    return value or None


def _required(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    value = _text(form, name, limit)
    if value is None:
        raise FormError(f"{name} is required")
    return value


def refusal_text(code: str, message: str) -> str:
    """The machine's refusal of the ask form in the form's terms: a field left empty is named
    by its label (the machine's message names the chat command to type); others as given."""
    missing = missing_field(code)
    if missing is None:
        return message
    label = LABELS.get(missing.field, missing.field)
    return f"{label} is required for a {missing.activity} request: fill in the {label} field."


def web_actor(person: str, account: str) -> Actor:
    return Actor(person=person, platform=PLATFORM, platform_user_id=account)


def open_request(form: Mapping[str, str], actor: Actor, request_id: str) -> OpenRequest:
    """`system`, `activity`, `version`, `environment`, `reason` into an `OpenRequest`."""
    return OpenRequest(
        request_id=request_id,
        actor=actor,
        system=_required(form, "system", 64),
        activity=_required(form, "activity", 64),
        version=_text(form, "version", 200),
        environment=_text(form, "environment", 100),
        reason=_text(form, "reason"),
    )


def answer(form: Mapping[str, str], actor: Actor, request_id: str) -> Answer:
    """`verdict`, the page's card `revision` and an optional `comment` into an `Answer`.

    The revision makes an answer from a page older than the request's last change stale, as
    a button on an old card is.
    """
    try:
        verdict = Verdict(_required(form, "verdict", 32))
    except ValueError:
        raise FormError("verdict is not one of approve, reject, no-objection, concern") from None
    revision_text = _required(form, "revision", 12)
    if not revision_text.isdigit():
        raise FormError("revision is not a number")
    return Answer(
        request_id=request_id,
        actor=actor,
        verdict=verdict,
        revision=int(revision_text),
        comment=_text(form, "comment"),
    )


def cancel(form: Mapping[str, str], actor: Actor, request_id: str) -> Cancel:
    return Cancel(request_id=request_id, actor=actor, reason=_text(form, "reason"))
