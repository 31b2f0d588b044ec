"""Two runs, or two versions of one run, side by side: the flipped cases first, then the paired deltas."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import NotFoundError
from andon.evals.build import feature_for_run
from andon.evals.model import FlippedCase, MetricDelta, VersionSummary
from andon.evals.report._format import metric_kind, metric_label
from andon.evals.report._view import verdict_line
from andon.store.records import RunRecord
from andon.web.forms import page
from andon.web.render import Ctx
from andon.web.runcells import InputShown, cut, inputs_of
from andon.web.runfigures import (
    FigureCache,
    cache_of,
    comparison_soon,
    figure,
    interval,
    metric_rows,
    run_figures_soon,
    version_of,
)

router = APIRouter()
FLIPPED_SHOWN = 100  # flipped cases listed; the count says how many there are in all


@dataclass(frozen=True, slots=True)
class FlipRow:
    """A case that passed on one side and failed on the other, with both outputs."""

    case_id: str
    change: str  # fixed | broken
    a_output: str
    b_output: str
    a_score: str
    b_score: str
    inputs: list[InputShown]


@dataclass(frozen=True, slots=True)
class DeltaRow:
    """One paired difference B − A with its interval and p-value."""

    label: str
    a: str
    b: str
    delta: str
    interval: str
    p_value: str
    better: bool | None  # None: no difference at this level


def _side(ctx: Ctx, run_ref: str, version: str | None, default: int) -> tuple[RunRecord, str, str]:
    run = ctx.store.get_run(run_ref)
    missing = ctx.fmt.t("webruns.compare.no_version", version=version or "", run=run.id,
                        versions=", ".join(n for n, _ in run.versions))  # fmt: skip
    name, version_id = version_of(run, version, default, missing)
    return run, name, version_id


def _summary(ctx: Ctx, cache: FigureCache, run: RunRecord, version_id: str) -> VersionSummary | None:
    figures = run_figures_soon(ctx.ws, cache, run, wait_s=0.0)  # the comparison has waited already
    return next((s for s in figures.summaries if s.version_id == version_id), None) if figures else None


def _view(ctx: Ctx, cache: FigureCache, params: dict[str, str]) -> Response:
    a_ref, b_ref = params.get("a", ""), params.get("b") or params.get("a", "")
    if not a_ref:
        return ctx.render("compare.html", params=params, cmp=None)
    try:
        a = _side(ctx, a_ref, params.get("av"), 0)
        b = _side(ctx, b_ref, params.get("bv"), -1)
    except NotFoundError as exc:
        return ctx.refuse(404, exc.message)
    alpha = feature_for_run(a[0], ctx.ws.config.features.get(a[0].feature)).alpha
    cmp = comparison_soon(ctx.ws, cache, a, b, alpha)
    if cmp is None:  # a large comparison's first view: worked out in the background, the page says so
        return ctx.render("compare.html", params=params, cmp=None, computing=True)
    summaries = [_summary(ctx, cache, a[0], a[2]), _summary(ctx, cache, b[0], b[2])]
    currency = a[0].currency
    shown = cmp.flipped[:FLIPPED_SHOWN]
    cases = ctx.store.run_cases_by_id(a[0].id, [f.case_id for f in shown])
    return ctx.render(
        "compare.html",
        params=params,
        cmp=cmp,
        a=a,
        b=b,
        verdict=verdict_line(cmp, currency, ctx.fmt.language),
        flipped=[_flip(ctx, a[0].id, f, cases.get(f.case_id, {"id": f.case_id})) for f in shown],
        deltas=[_delta(ctx, d, currency) for d in cmp.deltas],
        metrics=metric_rows(ctx.fmt, [s for s in summaries if s is not None], currency) if all(summaries) else [],
    )


def _flip(ctx: Ctx, run_id: str, f: FlippedCase, case: dict[str, object]) -> FlipRow:
    return FlipRow(
        case_id=f.case_id,
        change=f.change,
        a_output=cut(f.a_output),
        b_output=cut(f.b_output),
        a_score=ctx.fmt.number(f.a_score, 3),
        b_score=ctx.fmt.number(f.b_score, 3),
        inputs=inputs_of(run_id, dict(case)),
    )


def _delta(ctx: Ctx, d: MetricDelta, currency: str) -> DeltaRow:
    kind = metric_kind(d.name)
    # A share's difference reads in percentage points; other figures in their own unit.
    delta_kind = "points" if kind == "percent" else kind
    shown_delta = (
        ctx.fmt.t("webruns.points", n=ctx.fmt.number((d.delta or 0) * 100, 1))
        if delta_kind == "points" and d.delta is not None
        else figure(ctx.fmt, d.delta, kind, currency)
    )
    span = ""
    if d.low is not None and d.high is not None:
        span = (
            ctx.fmt.t("webruns.interval", low=ctx.fmt.number(d.low * 100, 1), high=ctx.fmt.number(d.high * 100, 1))
            if delta_kind == "points"
            else interval(ctx.fmt, d.low, d.high, kind, currency)
        )
    better = None
    if d.low is not None and d.high is not None and (d.low > 0 or d.high < 0):
        better = (d.low > 0) == d.higher_is_better
    return DeltaRow(
        label=metric_label(d.name, ctx.fmt.language),
        a=figure(ctx.fmt, d.a, kind, currency),
        b=figure(ctx.fmt, d.b, kind, currency),
        delta=shown_delta,
        interval=span,
        p_value=ctx.fmt.number(d.p_value, 4) if d.p_value is not None else "—",
        better=better,
    )


@router.get("/compare")
async def compare_page(request: Request) -> Response:
    """``?a=RUN&b=RUN`` (versions ``av``/``bv``; ``b`` defaults to ``a``: its first version against its last)."""
    ctx = await page(request)
    if isinstance(ctx, Response):
        return ctx
    params = {k: v[:200] for k, v in request.query_params.items()}
    return await asyncio.to_thread(_view, ctx, cache_of(request), params)
