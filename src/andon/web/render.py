"""What every page shares: the request's context (who, which language, the CSRF token) and rendering.

Templates are Jinja2 with autoescaping on; a value reaches the page as text unless our own code marks it
safe (the SVG charts). Every response carries a strict Content-Security-Policy: scripts and styles only
from ``/static``, no inline script, nothing from another origin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from andon._version import __version__
from andon.gateway.reload import workspace_of
from andon.store import Store
from andon.web import sessions
from andon.web.i18n import Formats, formats_of
from andon.web.sessions import Principal
from andon.web.users import Lockout, may
from andon.workspace import Workspace

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}

_ENV = Environment(
    loader=PackageLoader("andon.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def shown(value: Any) -> str:
    """A stored value as a person reads it: text as is, nothing as a dash, anything else as JSON."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


_ENV.filters["shown"] = shown


@pass_context
def term(page: Any, value: Any, prefix: str) -> str:
    """A stored word (a status, an event kind) in the page's language: ``prefix.value`` from the catalogue,
    else the word as stored (a value a newer version wrote is shown, not hidden)."""
    word = shown(value)
    text = page["t"](f"{prefix}.{word}")
    return word if text == f"{prefix}.{word}" else str(text)


_ENV.filters["term"] = term


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the dashboard behaves; tests shorten the undo window and the lock-out."""

    lockout: Lockout = field(default_factory=Lockout)
    undo_ms: int = 5000  # how long a review decision can be taken back before it is sent
    claim_lease: timedelta = timedelta(minutes=5)


def settings_of(request: Request) -> WebSettings:
    """The app's dashboard settings."""
    found = getattr(request.app.state, "web_settings", None)
    return found if isinstance(found, WebSettings) else WebSettings()


@dataclass
class Ctx:
    """One request to a page: its workspace, language, signed-in user and CSRF token."""

    request: Request
    ws: Workspace
    fmt: Formats
    principal: Principal | None
    settings: WebSettings
    csrf: str
    set_csrf_cookie: bool = False

    @property
    def store(self) -> Store:
        """The workspace's store."""
        return self.ws.store

    def may(self, scope: str) -> bool:
        """Whether the signed-in user's role grants ``scope`` (``review``, ``admin``)."""
        return self.principal is not None and may(self.principal.user.role, scope)

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        """The page ``template`` with the shared values (``t``, ``fmt``, ``me``, ``csrf``, ``may``…)."""
        html = _ENV.get_template(template).render(
            t=self.fmt.t,
            fmt=self.fmt,
            lang=self.fmt.language,
            me=self.principal,
            csrf=self.csrf,
            csrf_field=sessions.CSRF_FIELD,
            may=self.may,
            path=self.request.url.path,
            version=__version__,
            **values,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if self.set_csrf_cookie:
            sessions.set_cookie(response, self.request, sessions.CSRF_COOKIE, self.csrf)
        return response

    def refuse(self, status: int, message: str) -> HTMLResponse:
        """An error page: 403 for a missing right or CSRF token, 404 for an unknown thing…"""
        return self.render("error.html", status=status, message=message)


def context(request: Request) -> Ctx:
    """The context of ``request`` (the session is looked up in the store)."""
    ws = workspace_of(request)
    principal = sessions.current(request, ws.store)
    if principal is not None:
        csrf, fresh = principal.session.csrf_token, False
    else:
        csrf, fresh = sessions.anonymous_csrf(request)
    return Ctx(request, ws, formats_of(request, sessions.LANG_COOKIE), principal, settings_of(request), csrf, fresh)


def redirect(url: str) -> Response:
    """See other: after a form, the browser loads ``url`` with GET."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def to_signin(request: Request) -> Response:
    """Send an anonymous visitor to the sign-in page, coming back here after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/signin?next={quote(target, safe='')}")


def safe_next(value: str | None) -> str:
    """A same-site path to go to after signing in (never another site: ``//evil`` and ``/\\evil`` are refused)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > 500:
        return "/"
    return value
