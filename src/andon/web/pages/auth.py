"""Signing in and out, and choosing the language."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.messages import available_languages
from andon.web import sessions
from andon.web.forms import posted
from andon.web.render import context, redirect, safe_next
from andon.web.users import SignInError, authenticate

router = APIRouter()
_YEAR = 365 * 24 * 3600


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    """The sign-in form (straight on to ``next`` when signed in already)."""
    ctx = await asyncio.to_thread(context, request)
    target = safe_next(request.query_params.get("next"))
    if ctx.principal is not None:
        return redirect(target)
    return ctx.render("signin.html", next=target, error=None, name="")


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the name and password; a new session (a new cookie) on success, the form again with why not."""
    found = await posted(request, signed_in=False)
    if isinstance(found, Response):
        return found
    ctx, form = found
    target = safe_next(form.get("next"))
    name = form.get("name")
    password = (form.fields.get("password") or [""])[0]  # as typed: spaces may be part of a password
    try:
        user = await asyncio.to_thread(
            authenticate, ctx.store, name, password, ctx.settings.lockout, language=ctx.fmt.language
        )
    except SignInError as exc:
        return ctx.render("signin.html", status=401, next=target, error=exc.message, name=name)
    response = redirect(target)
    await asyncio.to_thread(sessions.start, ctx.store, user, response, request)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """End the session."""
    found = await posted(request)
    if isinstance(found, Response):
        return found
    ctx, _ = found
    response = redirect("/signin")
    await asyncio.to_thread(sessions.end, ctx.store, request, response)
    return response


@router.post("/lang")
async def choose_language(request: Request) -> Response:
    """Remember the chosen language in a cookie and go back to the page it was chosen on."""
    found = await posted(request, signed_in=False)
    if isinstance(found, Response):
        return found
    _, form = found
    language = form.get("lang")
    response = redirect(safe_next(form.get("next")))
    if language in available_languages():
        sessions.set_cookie(response, request, sessions.LANG_COOKIE, language, max_age=_YEAR)
    return response
