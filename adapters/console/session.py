"""The console's session: a signed, expiring cookie and the CSRF token every form carries.

Imports PyJWT and aiohttp only; never `bot`. The cookie is HMAC-signed (HS256) with the
console's secret, so nothing in it can be changed by the browser; it holds no secret of its own.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import jwt
from aiohttp import web

COOKIE = "signoff_console"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Session:
    """Who the browser acts as (`person` None until chosen or signed in) and its form token.

    `account` is the platform user id the ledger records for the person (`web` platform);
    `login` holds a sign-in in flight (state, nonce and PKCE verifier) until its callback.
    """

    csrf: str
    expires: int
    person: str | None = None
    account: str | None = None
    flash: str | None = None
    flash_ok: bool = True
    login: dict[str, str] = field(default_factory=dict)


class SessionCodec:
    """Reads and writes the session cookie; a cookie that fails its signature is no session."""

    def __init__(self, secret: bytes, lifetime: timedelta, secure: bool) -> None:
        if len(secret) < 32:
            raise ValueError("the console's session secret needs at least 32 bytes")
        self._secret, self.lifetime, self.secure = secret, lifetime, secure

    def new(self, now: datetime) -> Session:
        return Session(
            csrf=secrets.token_urlsafe(32), expires=int((now + self.lifetime).timestamp())
        )

    def read(self, request: web.Request, now: datetime) -> Session | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                # The expiry is judged on the server's clock below, the one everything uses.
                options={"require": ["exp"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        if claims["exp"] <= now.timestamp():
            return None
        try:
            return Session(
                csrf=str(claims["csrf"]),
                expires=int(claims["exp"]),
                person=claims.get("person"),
                account=claims.get("account"),
                flash=claims.get("flash"),
                flash_ok=bool(claims.get("flash_ok", True)),
                login=dict(claims.get("login") or {}),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def write(self, response: web.StreamResponse, session: Session) -> None:
        claims = {
            "csrf": session.csrf,
            "exp": session.expires,
            "person": session.person,
            "account": session.account,
            "flash": session.flash,
            "flash_ok": session.flash_ok,
            "login": session.login,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            secure=self.secure,
            samesite="Lax",
            path="/",
            max_age=int(self.lifetime.total_seconds()),
        )

    def clear(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")


def csrf_matches(session: Session | None, given: str | None) -> bool:
    """The form's token is the session's, compared in constant time."""
    if session is None or not given:
        return False
    return hmac.compare_digest(session.csrf.encode(), given.encode())


def with_flash(session: Session, message: str | None, ok: bool = True) -> Session:
    return replace(session, flash=message, flash_ok=ok)
