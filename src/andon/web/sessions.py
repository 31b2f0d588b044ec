"""Server-side sessions and CSRF tokens.

The session cookie holds 32 random bytes; the store keeps only their sha256. Signing in always issues a
new cookie (a session id planted before sign-in is never promoted). Every form carries a CSRF token: the
session's own once signed in, before that a random one mirrored in a cookie (the sign-in form itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from andon.store import Store
from andon.store.models import utcnow
from andon.store.web import WebSession, WebUser

SESSION_COOKIE = "andon_session"
CSRF_COOKIE = "andon_csrf"  # before sign-in only
LANG_COOKIE = "andon_lang"
CSRF_FIELD = "csrf_token"
SESSION_TTL = timedelta(hours=12)
MAX_FORM_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in user of a request and their session."""

    user: WebUser
    session: WebSession

    @property
    def actor(self) -> str:
        """How this user's actions are recorded (audit trails, decisions)."""
        return f"user:{self.user.name}"


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def current(request: Request, store: Store) -> Principal | None:
    """The request's signed-in user, or None (no cookie, unknown, expired, or the user was disabled)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 200:
        return None
    session = store.web_session(_hash(cookie))
    return None if session is None else Principal(session.user, session)


def start(store: Store, user: WebUser, response: Response, request: Request) -> str:
    """Open a new session for ``user`` (ending the one the browser had) and set its cookie; the CSRF token."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.end_web_session(_hash(old))
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    store.add_web_session(id_hash=_hash(cookie), user_id=user.id, csrf_token=csrf, expires_at=utcnow() + SESSION_TTL)
    set_cookie(response, request, SESSION_COOKIE, cookie, max_age=int(SESSION_TTL.total_seconds()))
    response.delete_cookie(CSRF_COOKIE, path="/")
    return csrf


def end(store: Store, request: Request, response: Response) -> None:
    """Sign out: forget the session and clear its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        store.end_web_session(_hash(cookie))
    response.delete_cookie(SESSION_COOKIE, path="/")


def is_https(request: Request) -> bool:
    """Served over https, directly or behind a proxy that says so."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    """A cookie scripts cannot read, sent on same-site navigations only, and only over https when served so."""
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=is_https(request))


def anonymous_csrf(request: Request) -> tuple[str, bool]:
    """The pre-sign-in CSRF token from its cookie, or a new one; (token, whether the cookie must be set)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(token) <= 100:
        return token, False
    return secrets.token_urlsafe(32), True


async def read_form(request: Request) -> dict[str, list[str]]:
    """The urlencoded form of a POST (at most 64 KiB), every value as sent."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=500)


def csrf_ok(form: dict[str, list[str]], principal: Principal | None, request: Request) -> bool:
    """Whether the form's token is the session's (or, before sign-in, the cookie's); compared in constant time."""
    sent = (form.get(CSRF_FIELD) or [""])[0]
    expected = principal.session.csrf_token if principal is not None else request.cookies.get(CSRF_COOKIE, "")
    return bool(sent) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
