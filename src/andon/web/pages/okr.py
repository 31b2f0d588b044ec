"""OKRs: the quarter × team board coloured by achievement, and a key result's page with its check-in history,
linked work, what feeds it, and a check-in form (the ``okr`` scope, as ``POST /v1/okr/checkins`` requires)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import APIRouter
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import AndonError, NotFoundError, PeriodClosedError
from andon.okr.board import (
    Board,
    BoardRow,
    PeriodsSummary,
    band,
    build_board,
    default_period,
    newest,
    read_okrs,
    summarize_periods,
)
from andon.okr.detail import KrDetail, key_result_detail
from andon.okr.objectives import record_checkin
from andon.okr.periods import is_year, steps
from andon.store.models import utcnow
from andon.web.charts import trend
from andon.web.forms import Form, drawn, page, posted
from andon.web.i18n import Formats
from andon.web.render import Ctx, redirect

router = APIRouter()
SCOPE = "okr"  # the API key scope POST /v1/okr/checkins requires; the reviewer and admin roles grant it
MAX_NOTE = 2000
QUARTERS_SHOWN = 6  # columns of the team × quarter summary: the latest quarters


@dataclass
class ObjectiveBlock:
    """An objective on the board with its roll-up and its key results' rows."""

    id: str
    title: str
    progress: float | None
    rows: list[BoardRow] = field(default_factory=list)


@dataclass
class TeamBlock:
    """A team on the board with its roll-up and its objectives."""

    id: str
    name: str
    progress: float | None
    objectives: list[ObjectiveBlock] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TeamQuarters:
    """One row of the summary: a team's progress in each quarter shown (None where it had no objective)."""

    id: str
    name: str
    cells: list[float | None]


def blocks(board: Board) -> list[TeamBlock]:
    """The board's rows grouped by team, then objective, in the board's order."""
    teams: dict[str, TeamBlock] = {}
    for row in board.rows:
        team = teams.setdefault(row.team_id, TeamBlock(row.team_id, row.team, board.team_progress.get(row.team_id)))
        if not team.objectives or team.objectives[-1].id != row.objective_id:
            team.objectives.append(
                ObjectiveBlock(row.objective_id, row.objective, board.objective_progress.get(row.objective_id))
            )
        team.objectives[-1].rows.append(row)
    return list(teams.values())


def quarter_summary(ctx: Ctx, quarters: list[str]) -> list[TeamQuarters]:
    """Each team's progress in each of ``quarters`` (the board's own roll-up of every quarter, in four reads)."""
    return _team_rows(summarize_periods(ctx.store, quarters))


def _team_rows(found: PeriodsSummary) -> list[TeamQuarters]:
    return [TeamQuarters(tid, name, found.progress[tid]) for tid, name in found.teams]


def _board_view(ctx: Ctx, period: str | None, team: str | None) -> Response:
    store = ctx.store
    data = read_okrs(store)  # one read per table for the page: the board, the summary and the pickers
    every = data.periods
    if period is None and not every:
        return ctx.render("okr_none.html")  # a new workspace: say how to start, not "no such period"
    now = utcnow()
    chosen = period or default_period(store, now, data=data)
    periods = [p.id for p in every]
    quarters = [p.id for p in every if not is_year(p)][-QUARTERS_SHOWN:]
    shown = data.period(chosen)
    if shown is None:
        return ctx.refuse(404, ctx.fmt.t("webokr.board.no_period", period=chosen))
    columns = steps(shown)
    # One read of check-ins: the newest per step for the board and, from the same rows, each key result's
    # newest for the summary's quarters.
    ids = [kr.id for kr in data.key_results_of({chosen, *quarters})]
    by_step = store.checkins_by_step(ids, [end for _, _, end in columns], now)
    try:
        board = build_board(store, chosen, team=team, now=now, data=data, by_step=by_step, history=False)
    except NotFoundError:
        return ctx.refuse(404, ctx.fmt.t("webokr.board.no_period", period=chosen))
    latest = {kr: found for kr, stretches in by_step.items() if (found := newest(stretches)) is not None}
    summary = summarize_periods(store, quarters, now, data=data, latest=latest)
    yearly = is_year(shown)
    return ctx.render(
        "okr_board.html",
        board=board,
        step_labels=[ctx.fmt.step(start, quarter=yearly) for _, start, _ in columns],  # board.steps are English
        blocks=blocks(board),
        periods=periods if chosen in periods else [*periods, chosen],
        chosen=board.period,
        team=team or "",
        teams=list(data.teams.values()),
        quarters=quarters,
        summary=_team_rows(summary),
        band=band,
        zip=zip,
    )


@router.get("/okrs")
async def board_page(request: Request) -> Response:
    """The board of a period (``?period=2026Q4``, default the current quarter), optionally one team's."""
    ctx = await page(request)
    if isinstance(ctx, Response):
        return ctx
    period = request.query_params.get("period") or None
    team = request.query_params.get("team") or None
    return await asyncio.to_thread(_board_view, ctx, period, team)


def chart(detail: KrDetail, fmt: Formats) -> Markup:
    """The check-in history as a line, with the target (or the band) and the start as dashed lines."""
    kr = detail.kr
    marks = [(kr.start, "start")]
    if kr.direction == "range" and kr.low is not None and kr.high is not None:
        marks += [(kr.low, "target"), (kr.high, "target")]
    else:
        marks.append((kr.target, "target"))
    values = [row.checkin.value for row in detail.checkins]
    label = fmt.t(
        "webokr.kr.chart", kr=kr.title, n=fmt.number(len(values)), target=fmt.number(kr.target, 4), unit=kr.unit,
        current=fmt.number(detail.current, 4),
    )  # fmt: skip
    return trend(values, label=label, marks=marks)


def _kr_view(ctx: Ctx, kr_id: str, *, status: int = 200, errors: dict[str, str] | None = None,
             entered: dict[str, str] | None = None, done: str | None = None) -> Response:  # fmt: skip
    try:
        detail = key_result_detail(ctx.store, kr_id)
    except NotFoundError:
        return ctx.refuse(404, ctx.fmt.t("webokr.kr.missing", kr=kr_id))
    return ctx.render(
        "okr_kr.html",
        status=status,
        d=detail,
        chart=chart(detail, ctx.fmt),
        newest=list(reversed(detail.checkins)),
        band=band,
        errors=errors or {},
        entered=entered or {},
        done=done == "checked_in",
        may_check_in=ctx.may(SCOPE) and not detail.closed,
        safe_url=safe_url,
    )


def safe_url(url: str | None) -> str | None:
    """An imported item's link if it is http(s); anything else (``javascript:``…) is not made a link."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


@router.get("/okrs/{kr_id}")
async def kr_page(request: Request, kr_id: str) -> Response:
    """A key result's page."""
    return await drawn(request, _kr_view, kr_id, done=request.query_params.get("done"))


def read_checkin(fmt: Formats, form: Form) -> tuple[float | None, int | None, str, dict[str, str]]:
    """Value, confidence and note from the form, and a message per bad field (keyed by the field's name)."""
    errors: dict[str, str] = {}
    raw = form.get("value")
    value: float | None = None
    try:
        value = float(raw.replace(",", ""))  # 1,234 as people type it
    except ValueError:
        errors["value"] = fmt.t("webokr.form.bad_value", value=raw) if raw else fmt.t("webokr.form.no_value")
    if value is not None and not math.isfinite(value):
        errors["value"], value = fmt.t("webokr.form.bad_value", value=raw), None
    confidence: int | None = None
    text = form.get("confidence")
    if text:
        confidence = int(text) if text.isdigit() else None
        if confidence is None or not 1 <= confidence <= 10:
            errors["confidence"] = fmt.t("webokr.form.bad_confidence", value=text)
    note = form.get("note")
    if len(note) > MAX_NOTE:
        errors["note"] = fmt.t("webokr.form.long_note", limit=fmt.number(MAX_NOTE), n=fmt.number(len(note)))
    return value, confidence, note, errors


@router.post("/okrs/{kr_id}/checkins")
async def check_in(request: Request, kr_id: str) -> Response:
    """Record a value of the key result, with the signed-in user as its author, then show its page."""
    found = await posted(request, scope=SCOPE)
    if isinstance(found, Response):
        return found
    ctx, form = found
    assert ctx.principal is not None
    actor = ctx.principal.actor

    def run() -> Response:
        entered = {name: form.get(name) for name in ("value", "confidence", "note")}
        value, confidence, note, errors = read_checkin(ctx.fmt, form)
        if errors or value is None:
            return _kr_view(ctx, kr_id, status=400, errors=errors, entered=entered)
        try:
            kr = ctx.store.key_result(kr_id)
            record_checkin(ctx.store, kr.id, value, confidence=confidence, comment=note, author=actor, source="web")
        except NotFoundError:
            return ctx.refuse(404, ctx.fmt.t("webokr.kr.missing", kr=kr_id))
        except PeriodClosedError:
            return _kr_view(ctx, kr_id, status=409, errors={"form": ctx.fmt.t("webokr.form.closed")}, entered=entered)
        except AndonError as exc:  # new_checkin names the field it refused
            where = exc.where if exc.where in ("value", "confidence", "note") else "form"
            return _kr_view(ctx, kr_id, status=400, errors={where: exc.message}, entered=entered)
        return redirect(f"/okrs/{quote(kr.id, safe='')}?done=checked_in")

    return await asyncio.to_thread(run)
