"""A feature: its versions with field-by-field diffs, evaluation runs, promotion and rollback, and the cord."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon import deploy
from andon.errors import AndonError, ConfigError, NotFoundError
from andon.versions.canonical import Version
from andon.versions.diff import FieldChange, diff_versions
from andon.web.forms import Form, drawn, page, posted
from andon.web.render import Ctx, redirect

router = APIRouter()
RUNS_SHOWN = 20
NOTICES = ("stopped", "resumed", "promoted", "rolled_back", "unchanged")  # ?done= values a page may announce


@dataclass(frozen=True, slots=True)
class VersionRow:
    """A declared version and what changed from the one declared before it."""

    version: Version
    changes: list[FieldChange]
    live: bool


def _view(ctx: Ctx, name: str, *, status: int = 200, error: str | None = None, failing: list[str] | None = None,
          done: str | None = None) -> Response:  # fmt: skip
    ws = ctx.ws
    try:
        config = ws.feature(name)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    try:
        state: deploy.LiveState | None = deploy.live_version(ws, name)
    except AndonError:
        state = None
    declared = ws.declared_versions(name)
    live_id = state.version_id if state else None
    rows = [
        VersionRow(v, diff_versions(declared[i - 1], v) if i else [], v.id == live_id) for i, v in enumerate(declared)
    ]
    return ctx.render(
        "feature.html",
        status=status,
        name=name,
        config=config,
        state=state,
        versions=list(reversed(rows)),  # newest first, as people read a changelog
        runs=ws.store.list_runs(name, limit=RUNS_SHOWN),
        timeline=_timeline(ctx, name),
        error=error,
        failing=failing or [],
        done=done if done in NOTICES else None,
    )


def _timeline(ctx: Ctx, name: str) -> list[tuple[datetime, str, str, str]]:
    """Promotions, rollbacks, stops, resumes and data-use grants, newest first: (when, what, who, why)."""
    t = ctx.fmt.t
    rows = [
        (e.created_at, t(f"web.event.{e.kind}"), e.actor, e.reason or "") for e in deploy.state_events(ctx.ws, name)
    ]
    for r in deploy.history(ctx.ws, name):
        what = t(f"web.event.{r.action}", version=r.version_name) + (
            f" ({t('web.feature.forced')})" if r.forced else ""
        )
        rows.append((r.created_at, what, r.actor, r.reason or ""))
    return sorted(rows, key=lambda row: row[0], reverse=True)


@router.get("/features/{name}")
async def feature_page(request: Request, name: str) -> Response:
    """The feature's page."""
    return await drawn(request, _view, name, done=request.query_params.get("done"))


Action = Callable[[Ctx, str, Form], str]  # does the deed, returns the notice to show


async def _act(request: Request, name: str, scope: str, action: Action) -> Response:
    found = await posted(request, scope=scope)
    if isinstance(found, Response):
        return found
    ctx, form = found

    def run() -> Response:
        try:
            ctx.ws.feature(name)
        except NotFoundError as exc:
            return ctx.refuse(404, exc.message)
        try:
            done = action(ctx, name, form)
        except deploy.PromotionRefused as exc:
            return _view(ctx, name, status=409, error=exc.message, failing=exc.failing)
        except AndonError as exc:
            message = exc.message + (f" ({exc.hint})" if exc.hint else "")
            return _view(ctx, name, status=400, error=message)
        return redirect(f"/features/{quote(name, safe='')}?done={done}")

    return await asyncio.to_thread(run)


def _actor(ctx: Ctx) -> str:
    assert ctx.principal is not None
    return ctx.principal.actor


def _stop(ctx: Ctx, name: str, form: Form) -> str:
    if not form.get("reason"):
        raise ConfigError(ctx.fmt.t("web.feature.reason_needed"), where="reason")
    event = deploy.stop_feature(ctx.ws, name, reason=form.get("reason"), actor=_actor(ctx))
    return "stopped" if event is not None else "unchanged"


def _resume(ctx: Ctx, name: str, form: Form) -> str:
    event = deploy.resume_feature(ctx.ws, name, reason=form.get("reason") or None, actor=_actor(ctx))
    return "resumed" if event is not None else "unchanged"


def _promote(ctx: Ctx, name: str, form: Form) -> str:
    result = deploy.promote(
        ctx.ws, name, form.get("version"), force=form.get("force") == "on", actor=_actor(ctx),
        reason=form.get("reason") or None,
    )  # fmt: skip
    return "promoted" if result.changed else "unchanged"


def _rollback(ctx: Ctx, name: str, form: Form) -> str:
    deploy.rollback(ctx.ws, name, actor=_actor(ctx), reason=form.get("reason") or None)
    return "rolled_back"


# The cord is the line's: anyone who may decide review items may pull it. What serves is an admin's call.
_ACTIONS: dict[str, tuple[str, Action]] = {
    "stop": ("review", _stop),
    "resume": ("review", _resume),
    "promote": ("admin", _promote),
    "rollback": ("admin", _rollback),
}


@router.post("/features/{name}/{verb}")
async def feature_action(request: Request, name: str, verb: str) -> Response:
    """Stop, resume, promote or roll back, audited with the signed-in user as the actor."""
    if verb not in _ACTIONS:
        found: Any = await page(request)
        return found if isinstance(found, Response) else found.refuse(404, found.fmt.t("web.error.not_found"))
    scope, action = _ACTIONS[verb]
    return await _act(request, name, scope, action)
