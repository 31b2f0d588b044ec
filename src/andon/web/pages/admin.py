"""Admin: API keys (a new key's secret is shown once, on the page that created it) and the users."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import AndonError
from andon.gateway.auth import SCOPES, create_key
from andon.web.forms import Form, page, posted
from andon.web.render import Ctx

router = APIRouter()


def _keys(ctx: Ctx, *, status: int = 200, secret: str | None = None, created: str | None = None,
          error: str | None = None) -> Response:  # fmt: skip
    return ctx.render(
        "keys.html",
        status=status,
        keys=ctx.store.list_api_keys(include_revoked=True),
        users=ctx.store.list_web_users(),
        scopes=SCOPES,
        secret=secret,
        created=created,
        error=error,
    )


@router.get("/admin/keys")
async def keys_page(request: Request) -> Response:
    """API keys and users, and the form to create a key."""
    ctx = await page(request, scope="admin")
    if isinstance(ctx, Response):
        return ctx
    return await asyncio.to_thread(_keys, ctx)


def _create(ctx: Ctx, form: Form) -> Response:
    rate_text = form.get("rate")
    try:
        rate = int(rate_text) if rate_text else None
    except ValueError:
        return _keys(ctx, status=400, error=ctx.fmt.t("web.keys.bad_rate"))
    try:
        record, secret = create_key(ctx.store, form.get("name"), form.all("scopes"), rate)
    except AndonError as exc:
        return _keys(ctx, status=400, error=exc.message)
    return _keys(ctx, status=201, secret=secret, created=record.name)


@router.post("/admin/keys")
async def create(request: Request) -> Response:
    """Create a key; the answer shows its secret this once (never stored, never shown again)."""
    found = await posted(request, scope="admin")
    if isinstance(found, Response):
        return found
    ctx, form = found
    return await asyncio.to_thread(_create, ctx, form)
