"""Incidents: the list (open first) and one incident's seven stages, timeline, impact and similar past ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import AndonError, NotFoundError
from andon.watch import incidents as inc
from andon.web.forms import Form, drawn, page, posted
from andon.web.i18n import Formats
from andon.web.render import Ctx, redirect

router = APIRouter()
SHOWN = 100  # incidents are few (one per cord pull); newest this many (store read + Babel dates ≈ 0.3 ms each)
FILTERS = ("open", "closed", "all")
SCOPE = "review"  # the API has no incidents scope: whoever may pull the cord may move its incident on
NOTICES = ("advanced", "noted")


def duration(fmt: Formats, value: timedelta | None) -> str:
    """A time to detect or mitigate in words of the page's language; a dash while unknown."""
    if value is None:
        return "—"
    seconds = round(value.total_seconds())
    minutes, secs = divmod(abs(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    key = "incpages.dur.h" if hours else "incpages.dur.m" if minutes else "incpages.dur.s"
    return ("-" if seconds < 0 else "") + fmt.t(key, h=hours, m=minutes, s=secs)


def _list_view(ctx: Ctx, show: str) -> Response:
    found = inc.list_incidents(ctx.ws, open_only=show == "open", limit=SHOWN)
    if show == "closed":
        found = [i for i in found if not i.is_open]
    found.sort(key=lambda i: not i.is_open)  # stable: open ones first, each part newest first
    return ctx.render("incidents.html", incidents=found, show=show, filters=FILTERS, duration=duration)


@router.get("/incidents")
async def incidents_page(request: Request) -> Response:
    """Incidents, open first; ``?show=open|closed|all``."""
    ctx = await page(request)
    if isinstance(ctx, Response):
        return ctx
    show = request.query_params.get("show", "open")
    return await asyncio.to_thread(_list_view, ctx, show if show in FILTERS else "open")


def _safe_link(value: str | None) -> str | None:
    """A runbook is a link only when it is http(s); anything else (javascript:, data:) is shown as text."""
    return value if value and value.lower().startswith(("https://", "http://")) else None


def _view(ctx: Ctx, ref: str, *, status: int = 200, error: str | None = None, done: str | None = None,
          form: Form | None = None) -> Response:  # fmt: skip
    try:
        incident = inc.get_incident(ctx.ws, ref)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    reached = inc.STAGES.index(incident.stage)
    later = [s for s in inc.STAGES[reached + 1 :] if s not in incident.stages]
    return ctx.render(
        "incident.html",
        status=status,
        incident=incident,
        stages=inc.STAGES,
        later=later,
        decisions=inc.DECISIONS,
        events=inc.timeline(ctx.ws, incident.id),
        similar=inc.similar_incidents(ctx.ws, incident),
        impact=incident.impact,
        runbook_link=_safe_link(incident.runbook),
        duration=duration,
        error=error,
        done=done if done in NOTICES else None,
        sent=form.fields if form is not None else {},
    )


@router.get("/incidents/{ref}")
async def incident_page(request: Request, ref: str) -> Response:
    """One incident."""
    return await drawn(request, _view, ref, done=request.query_params.get("done"))


def _advance(ctx: Ctx, ref: str, form: Form) -> str:
    stage = form.get("stage")
    fields: dict[str, Any] = {}
    if stage == "confirmed":
        verdict = form.get("verdict")
        if verdict in ("incident", "false_alarm"):
            fields["false_alarm"] = verdict == "false_alarm"
        fields["cause"] = form.get("cause")
    elif stage == "decided":
        fields["decision"] = form.get("decision")
    inc.advance(ctx.ws, ref, stage, actor=_actor(ctx), note=form.get("note") or None, **fields)
    return "advanced"


def _note(ctx: Ctx, ref: str, form: Form) -> str:
    inc.add_note(ctx.ws, ref, form.get("text"), actor=_actor(ctx))
    return "noted"


def _actor(ctx: Ctx) -> str:
    assert ctx.principal is not None  # posted() sent the signed-out away
    return ctx.principal.actor


_ACTIONS = {"advance": _advance, "note": _note}


@router.post("/incidents/{ref}/{verb}")
async def incident_action(request: Request, ref: str, verb: str) -> Response:
    """Advance a stage or add a note, with the signed-in user as the actor; 303 back to the incident."""
    if verb not in _ACTIONS:
        found: Any = await page(request)
        return found if isinstance(found, Response) else found.refuse(404, found.fmt.t("web.error.not_found"))
    answer = await posted(request, scope=SCOPE)
    if isinstance(answer, Response):
        return answer
    ctx, form = answer
    action = _ACTIONS[verb]

    def run() -> Response:
        try:
            incident = inc.get_incident(ctx.ws, ref)
        except NotFoundError as exc:
            return ctx.refuse(404, exc.message)
        try:
            done = action(ctx, incident.id, form)
        except AndonError as exc:
            message = exc.message + (f" ({exc.hint})" if exc.hint else "")
            return _view(ctx, incident.id, status=400, error=message, form=form)
        return redirect(f"/incidents/{quote(incident.id, safe='')}?done={done}")

    return await asyncio.to_thread(run)
