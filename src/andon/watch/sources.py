"""Metric sources: what a monitor measures over one window — andon's traces (aggregated in SQL), a
Prometheus instant query, an HTTP JSON endpoint, or values pushed to ``POST /v1/metrics`` — and its baseline.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from andon.config.live_judge import LIVE_TAG
from andon.config.schema import SHARE_METRICS, TRACE_METRICS
from andon.errors import AndonError
from andon.messages import t
from andon.store import Store
from andon.store.watch import JsonPath, ShareKind
from andon.watch.detectors.base import Proportion
from andon.watch.monitors import Measurement, Monitor
from andon.workspace import Workspace

WEEK = timedelta(days=7)
_SHARE_KIND: dict[str, ShareKind] = {
    "error_rate": "error",
    "route_share": "route",
    "label_share": "label",
    "cache_hit_rate": "cache",
}


class SourceError(AndonError):
    """A source could not be read (unreachable, an error answer, or not a number where one was expected)."""


def json_path(path: str) -> JsonPath:
    """``items.0.label`` → ``("items", 0, "label")``: digits index lists."""
    return tuple(int(part) if part.isdigit() else part for part in path.split(".") if part != "")


def pick(document: Any, path: str) -> Any:
    """The value at a dot path in parsed JSON; a SourceError naming the first step that is missing."""
    node = document
    for part in json_path(path):
        if isinstance(part, int) and isinstance(node, list) and -len(node) <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        else:
            raise SourceError(t("watch.source.path_missing", path=path, part=part))
    return node


def number(value: Any, what: str) -> float | None:
    """A JSON value as a float (numbers and numeric strings); None for null and NaN."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise SourceError(t("watch.source.not_number", what=what, value=value))
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise SourceError(t("watch.source.not_number", what=what, value=str(value)[:80])) from None
    return None if math.isnan(result) else result


async def measure(ws: Workspace, monitor: Monitor, end: datetime, *, http: httpx.AsyncClient) -> Measurement:
    """The monitor's value over ``[end - window, end)``, compared with its baseline if it has one."""
    cfg = monitor.config
    start = end - timedelta(seconds=cfg.window)
    try:
        current = await window_value(ws, monitor, start, end, http=http)
        if cfg.baseline is None:
            return current
        base_window = await baseline_window(ws, monitor, start, end)
        if base_window is None:
            return Measurement(calls=current.calls, error=None)
        base = await window_value(ws, monitor, *base_window, http=http)
    except SourceError as exc:
        return Measurement(error=exc.message)
    except httpx.HTTPError as exc:
        return Measurement(error=t("watch.source.unreachable", error=f"{type(exc).__name__}: {exc}"))
    if current.value is None or base.value is None:
        return Measurement(calls=current.calls, baseline=base.value)
    if cfg.baseline.compare == "ratio":
        value = current.value / base.value if base.value != 0 else None
    else:
        value = current.value - base.value
    return Measurement(value=value, calls=current.calls, baseline=base.value)


async def baseline_window(
    ws: Workspace, monitor: Monitor, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The window the current one is compared with (None: there is none yet, e.g. nothing was live before)."""
    cfg = monitor.config
    assert cfg.baseline is not None
    if cfg.baseline.of == "previous_window":
        return start - (end - start), start
    if cfg.baseline.of == "same_hour_last_week":
        return start - WEEK, end - WEEK
    feature = monitor.feature or monitor.source_feature
    if feature is None:
        return None
    history = await asyncio.to_thread(ws.store.live_history, feature)
    if len(history) < 2:
        return None
    since = history[-1].created_at  # the current live version took over here; before it, the previous one served
    return since - (end - start), since


async def window_value(
    ws: Workspace, monitor: Monitor, start: datetime, end: datetime, *, http: httpx.AsyncClient
) -> Measurement:
    """The metric over [start, end) with no baseline applied."""
    kind = monitor.config.source.type
    if kind == "traces":
        return await asyncio.to_thread(trace_value, ws, monitor, start, end)
    if kind == "pushed":
        how = monitor.config.source.aggregate
        value, _count = await asyncio.to_thread(ws.store.metric_aggregate, monitor.pushed_name, start, end, how)
        return Measurement(value=value, calls=None)
    if kind == "prometheus":
        return Measurement(value=await prometheus_value(monitor, end, http=http))
    return Measurement(value=await http_json_value(monitor, http=http))


def trace_value(ws: Workspace, monitor: Monitor, start: datetime, end: datetime) -> Measurement:
    """A traces metric of the monitor's feature, computed in SQL."""
    source = monitor.config.source
    feature = monitor.source_feature
    assert feature is not None  # the schema requires it for traces monitors
    return trace_metric(
        ws.store,
        feature,
        monitor.config.metric,
        start,
        end,
        route=source.route,
        path=source.path,
        label=source.label,
        in_tags=source.in_tags,
        grader=source.grader,
    )


def trace_metric(
    store: Store,
    feature: str,
    metric: str,
    start: datetime,
    end: datetime,
    *,
    route: str | None = None,
    path: str | None = None,
    label: str | Sequence[str] | None = None,
    in_tags: bool = False,
    grader: str | None = None,
) -> Measurement:
    """One of ``TRACE_METRICS`` of ``feature`` over [start, end), in SQL (the watcher and the OKR bindings read it).

    ``grader`` (judge_score): read the live judge's scores of that grader from the tags instead of ``path``.
    """
    minutes = (end - start).total_seconds() / 60.0
    if metric in SHARE_METRICS:
        if metric == "negative_feedback_rate":
            hits, trials = store.feedback_negative(feature, start, end)
        elif metric == "ai_human_agreement":
            hits, trials = store.review_agreement(feature, start, end, json_path(path or ""))
        else:
            labels = [label] if isinstance(label, str) else list(label or [])
            hits, trials = store.trace_share(
                feature,
                start,
                end,
                _SHARE_KIND[metric],
                route=route,
                path=json_path(path or ""),
                labels=labels,
                in_tags=in_tags,
            )
        share = hits / trials if trials else None
        return Measurement(value=share, counts=Proportion(hits, trials), calls=trials)
    if metric in ("latency_p50_ms", "latency_p95_ms"):
        value, count = store.trace_latency_percentile(feature, start, end, 0.5 if metric == "latency_p50_ms" else 0.95)
        return Measurement(value=value, calls=count)
    if metric == "cost_per_hour":
        total, count = store.trace_cost(feature, start, end)
        return Measurement(value=total / (minutes / 60.0), calls=count)
    if metric == "calls_per_minute":
        count = store.trace_calls(feature, start, end)
        return Measurement(value=count / minutes, calls=count)
    if metric == "judge_score":
        where: JsonPath = (LIVE_TAG, grader) if grader is not None else json_path(path or "")
        mean, count = store.trace_json_mean(feature, start, end, where, in_tags=in_tags or grader is not None)
        return Measurement(value=mean, calls=count)
    if metric == "review_backlog":
        return Measurement(value=float(store.review_backlog(feature, end)))
    if metric != "review_median_wait_s":
        raise SourceError(t("watch.source.unknown_metric", metric=metric, known=", ".join(TRACE_METRICS)))
    wait, count = store.review_wait_percentile(feature, start, end, 0.5)
    return Measurement(value=wait, calls=None if wait is None else count)


async def prometheus_value(monitor: Monitor, at: datetime, *, http: httpx.AsyncClient) -> float | None:
    """An instant query (``/api/v1/query``) evaluated at ``at``; one series or a scalar, else a SourceError."""
    source = monitor.config.source
    assert source.url is not None and source.query is not None
    url = source.url.rstrip("/") + "/api/v1/query"
    response = await http.get(
        url,
        params={"query": source.query, "time": f"{at.timestamp():.3f}"},
        headers=source.headers,
        timeout=source.timeout_s,
    )
    try:
        body = response.json()
    except ValueError:
        raise SourceError(t("watch.source.http_status", url=url, status=response.status_code)) from None
    if response.status_code >= 400 or not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error") if isinstance(body, dict) else None
        raise SourceError(t("watch.source.prometheus_error", url=url, status=response.status_code, error=detail or "-"))
    data = body.get("data") or {}
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return number(result[1], "prometheus")
    if kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise SourceError(t("watch.source.many_series", count=len(result), query=source.query))
        return number((result[0].get("value") or [None, None])[1], "prometheus")
    raise SourceError(t("watch.source.prometheus_shape", kind=str(kind)))


async def http_json_value(monitor: Monitor, *, http: httpx.AsyncClient) -> float | None:
    """GET the endpoint and read the number at ``path``."""
    source = monitor.config.source
    assert source.url is not None and source.path is not None
    response = await http.get(source.url, headers=source.headers, timeout=source.timeout_s)
    if response.status_code >= 400:
        raise SourceError(t("watch.source.http_status", url=source.url, status=response.status_code))
    try:
        body = response.json()
    except ValueError:
        raise SourceError(t("watch.source.not_json", url=source.url)) from None
    return number(pick(body, source.path), source.path)
