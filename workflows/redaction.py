"""Secrets masked out of what an agent wants to do before approvers or the ledger see it;
pure, imports only the standard library.

An agent's tool call can carry a token, a password or a key. Approvers must see what they
approve, but a secret shown in a chat message or written to the ledger has leaked for good. So
the call is kept as a digest of its exact arguments (what the agent is bound to) and a preview
with secrets masked (what people read). Masking is by field name where the arguments are
structured, and by the shapes of well-known credentials anywhere in text.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

MASK = "[masked]"
PREVIEW_LIMIT = 2000

# Field names whose values are secrets whatever they look like.
SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"signing[_-]?key|credential|authorization|cookie|session[_-]?id|client[_-]?secret|pwd)",
    re.IGNORECASE,
)
# `name=value` or `"name": "value"` in free text, with a secret's name.
_NAMED_IN_TEXT = re.compile(
    r"(?P<name>[\w-]*" + SECRET_NAME.pattern + r"[\w-]*)(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    # An HTTP scheme word ("Bearer", "Basic", "token") is part of the secret it introduces.
    r"(?P<value>(?:(?:bearer|basic|token)\s+)?[^\s\"',;}&]+)",
    re.IGNORECASE,
)
# Credentials recognisable by their shape alone.
_SHAPES = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # a JWT
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}"),  # Slack
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),  # GitHub
    re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"),  # GitLab
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI-style API keys
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}"),  # webhook signing secrets
    re.compile(r"\bso_[0-9a-f]{16}_[A-Za-z0-9_-]{16,}"),  # Signoff's own client tokens
]
# user:password@ in a URL keeps the user and loses the password.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^/\s@]+(?P<at>@)", re.I)


def mask_text(text: str) -> str:
    """`text` with every recognisable secret replaced by `[masked]`."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK + m["at"], text)
    # Shapes first: a whole credential goes before a name rule could take only its first word.
    for shape in _SHAPES:
        text = shape.sub(MASK, text)
    return _NAMED_IN_TEXT.sub(lambda m: m["name"] + m["sep"] + MASK, text)


def mask(value: Any) -> Any:
    """A copy of JSON-like `value` with secret-named fields and secret-shaped strings masked."""
    if isinstance(value, dict):
        return {
            key: MASK if SECRET_NAME.search(str(key)) and item not in (None, "") else mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(value: Any) -> str:
    """The SHA-256 of the exact arguments, unmasked, in canonical JSON: what was approved."""
    return "sha256:" + hashlib.sha256(canonical(value)).hexdigest()


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """What approvers read of the arguments: masked, compact, cut at `limit` characters."""
    shown = json.dumps(mask(value), sort_keys=True, ensure_ascii=False, indent=None)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
