"""A posted form: read once, its CSRF token checked, the user's right to act checked, before any handler runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec

from starlette.requests import Request
from starlette.responses import Response

from andon.messages import speak_for_request
from andon.web import sessions
from andon.web.render import Ctx, context, to_signin

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class Form:
    """The fields of a posted form, each as sent (text)."""

    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        """The first value of ``name`` (stripped), or ``default``."""
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def all(self, name: str) -> list[str]:
        """Every value of ``name`` (checkboxes), stripped, blanks left out."""
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


async def posted(request: Request, *, scope: str | None = None, signed_in: bool = True) -> tuple[Ctx, Form] | Response:
    """The context and form of a POST, or the answer refusing it: 403 without a valid CSRF token or the right."""
    fields = await sessions.read_form(request)
    ctx = await asyncio.to_thread(context, request)
    speak_for_request(ctx.fmt.language)  # errors from floor 7 read in the page's language
    form = Form(fields)
    if not sessions.csrf_ok(fields, ctx.principal, request):
        return ctx.refuse(403, ctx.fmt.t("web.error.csrf"))
    if signed_in and ctx.principal is None:
        return to_signin(request)
    if scope is not None and not ctx.may(scope):
        return ctx.refuse(403, ctx.fmt.t("web.error.forbidden"))
    return ctx, form


async def page(request: Request, *, scope: str | None = None) -> Ctx | Response:
    """The context of a GET page for a signed-in user (with ``scope``), or the answer sending them away."""
    ctx = await asyncio.to_thread(context, request)
    speak_for_request(ctx.fmt.language)
    if ctx.principal is None:
        return to_signin(request)
    if scope is not None and not ctx.may(scope):
        return ctx.refuse(403, ctx.fmt.t("web.error.forbidden"))
    return ctx


async def drawn(
    request: Request, view: Callable[Concatenate[Ctx, P], Response], *args: P.args, **kwargs: P.kwargs
) -> Response:
    """A GET page for a signed-in user, drawn off the event loop: ``view(ctx, *args)`` reads the store."""
    ctx = await page(request)
    if isinstance(ctx, Response):
        return ctx
    return await asyncio.to_thread(view, ctx, *args, **kwargs)
