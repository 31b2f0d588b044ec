"""Monitors: every monitor of andon.yaml with its state and last verdict, and one monitor's points and verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from andon.errors import AndonError
from andon.store.models import utcnow
from andon.store.monpages import SeriesArrays
from andon.watch.incidents import false_alarm_counts
from andon.watch.monitors import Monitor, build_monitors
from andon.watch.watcher import MonitorStatus, monitor_status
from andon.web.charts import SeriesColumns, Threshold, columns_chart
from andon.web.forms import drawn
from andon.web.render import Ctx

router = APIRouter()
HOURS = (24, 168)  # the windows the page offers; ?hours= takes any whole number of hours up to MAX_HOURS
MAX_HOURS = 24 * 31
VERDICTS_SHOWN = 200  # the table lists the newest verdicts of the window; the chart draws all of them
MARKED = ("warn", "fail")
_LIMITS = (("warn_above", "warn"), ("fail_above", "fail"), ("warn_below", "warn"), ("fail_below", "fail"))


@dataclass(frozen=True, slots=True)
class MonitorRow:
    """A monitor as the list shows it: the watcher's status, and what andon.yaml says about who and how."""

    status: MonitorStatus
    owner: str | None
    runbook: str | None
    false_alarms: int | None


_built: list[tuple[object, float | None, dict[str, Monitor]]] = []  # (config, andon.yaml's mtime, its monitors)


def _monitors(ctx: Ctx) -> dict[str, Monitor]:
    """andon.yaml's monitors, built once per loaded config (building reads the file again for its positions)."""
    config, path = ctx.ws.config, ctx.ws.loaded.path
    mtime = path.stat().st_mtime if path.exists() else None
    for seen, seen_mtime, monitors in list(_built):
        if seen is config and seen_mtime == mtime:
            return monitors
    monitors = build_monitors(config, path=path)
    _built[:] = [(config, mtime, monitors)]  # the config object is held, so its identity cannot be reused
    return monitors


def _list_view(ctx: Ctx) -> Response:
    try:
        monitors = _monitors(ctx)
        rows = monitor_status(ctx.ws, monitors)
        alarms = false_alarm_counts(ctx.ws)
    except AndonError as exc:
        return ctx.render("monitors.html", status=500, rows=[], error=exc.message)
    shown = [
        MonitorRow(r, monitors[r.name].config.owner, monitors[r.name].config.runbook, alarms.get(r.name)) for r in rows
    ]
    return ctx.render("monitors.html", rows=shown, error=None)


def thresholds_of(monitor: Monitor) -> list[Threshold]:
    """The detector's static limits (a threshold detector's ``warn_above``…), none for a learning detector."""
    out: list[Threshold] = []
    for field, kind in _LIMITS:
        value = getattr(monitor.settings, field, None)
        if isinstance(value, int | float):
            out.append((kind, float(value)))
    return out


def columns_of(points: SeriesArrays) -> SeriesColumns:
    """The chart's columns: the points with a value, the warn/fail ones among them as marks (oldest first, the
    chart boxes runs of them), and the detector's expected range (none when no point has one)."""
    valued = ~np.isnan(points.values)
    marked = valued & np.isin(np.asarray(points.states, dtype=object), MARKED)
    at = np.flatnonzero(marked).tolist()
    has_band = bool(np.any(~np.isnan(points.lows)))
    none = np.zeros(0, dtype=float)
    return SeriesColumns(
        xs=points.ts[valued], ys=points.values[valued],
        mark_kinds=[points.states[i] for i in at], mark_xs=points.ts[marked], mark_ys=points.values[marked],
        band_xs=points.ts if has_band else none, band_lows=points.lows if has_band else none,
        band_highs=points.highs if has_band else none,
    )  # fmt: skip


def _hours(text: str | None) -> int:
    try:
        hours = int(text) if text else HOURS[0]
    except ValueError:
        return HOURS[0]
    return min(max(hours, 1), MAX_HOURS)


def _detail_view(ctx: Ctx, name: str, hours: int) -> Response:
    t = ctx.fmt.t
    try:
        monitors = _monitors(ctx)
    except AndonError as exc:
        return ctx.refuse(500, exc.message)
    if name not in monitors:
        return ctx.refuse(404, t("monpages.unknown", name=name))
    monitor = monitors[name]
    (status,) = monitor_status(ctx.ws, {name: monitor})
    end = utcnow()
    start = end - timedelta(hours=hours)
    points = ctx.store.watch_columns(name, start=start)
    data = columns_of(points)
    limits = thresholds_of(monitor)
    n_marks = len(data.mark_kinds)
    chart = columns_chart(
        data,
        label=t("monpages.chart_label", name=name, metric=monitor.config.metric, hours=hours,
                n=ctx.fmt.number(len(data.xs)), marks=ctx.fmt.number(n_marks)),
        thresholds=limits,
        span=(start.timestamp(), end.timestamp()),
    )  # fmt: skip
    return ctx.render(
        "monitor.html",
        name=name,
        monitor=monitor,
        mon=status,
        hours=hours,
        choices=HOURS,
        chart=chart,
        limits=limits,
        n_points=len(points.states),
        n_marks=n_marks,
        has_band=data.has_band,
        verdicts=ctx.store.watch_verdicts(name, start=start, limit=VERDICTS_SHOWN),  # newest first
        false_alarms=false_alarm_counts(ctx.ws).get(name),
    )


@router.get("/monitors")
async def monitors_page(request: Request) -> Response:
    """Every monitor with its state and last verdict."""
    return await drawn(request, _list_view)


@router.get("/monitors/{name}")
async def monitor_page(request: Request, name: str) -> Response:
    """One monitor: its points of the last hours as a chart, and its verdicts."""
    return await drawn(request, _detail_view, name, _hours(request.query_params.get("hours")))
