"""Metric sources: trace metrics computed in SQL (hand-counted values, SQLite and PostgreSQL), percentiles
against a reference, Prometheus and HTTP JSON answers, pushed values, baselines.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from tests.watch import watch_support
from tests.watch.watch_support import trace

from andon.config.schema import WorkspaceConfig, parse_duration
from andon.store import Store
from andon.store.models import ReviewItemRow
from andon.watch.detectors.base import Proportion
from andon.watch.monitors import Monitor, build_monitors
from andon.watch.sources import json_path, measure, pick

# Fixtures shared by the watch tests (pytest finds them by these names).
open_ws = watch_support.open_ws

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
END = T0 + timedelta(minutes=5)
MENU = {"versions": {"v1": {"python": "watch_rules:decide"}}}


def monitor(metric: str, *, detector: dict[str, Any] | None = None, **source: Any) -> dict[str, Any]:
    return {
        "feature": "menu",
        "metric": metric,
        "source": {"type": "traces", **source},
        "window": "5m",
        "interval": "1m",
        "detector": detector or {"type": "threshold", "fail_above": 1e9},
        "actions": [],
    }


def seed(store: Store) -> None:
    """The traces, feedback and review items the expected values below were counted from by hand."""
    at = [T0 + timedelta(seconds=10 * i) for i in range(20)]
    rows = [
        trace("menu", at[0], decision="reject", latency_ms=100, cost=0.01, tags={"judge": {"score": 0.5}}),
        trace("menu", at[1], decision="reject", latency_ms=200, cost=0.01, tags={"judge": {"score": 0.7}}),
        trace("menu", at[2], decision="approve", latency_ms=300, cost=0.01, tags={"judge": {"score": 0.9}}),
        trace("menu", at[3], decision="approve", latency_ms=400, cost=0.01),
        trace("menu", at[4], decision="approve", latency_ms=500, cost=0.01),
        trace("menu", at[5], decision="approve", latency_ms=600, cost=0.01),
        trace("menu", at[6], error_code="provider_error", latency_ms=1000, cost=None),
        trace("menu", at[7], error_code="timeout", latency_ms=2000, cost=None),
        trace("menu", at[8], route="human", provider=None, decision=None, latency_ms=3, cost=None),  # stopped
        trace("menu", at[9], route="human", provider=None, decision=None, latency_ms=3, cost=None),  # stopped
        trace("menu", at[10], cache="exact", provider=None, decision="reject", latency_ms=5, cost=None),
        trace("menu", END, decision="reject", latency_ms=9999),  # the window's end is excluded
        trace("menu", T0 - timedelta(microseconds=1), decision="reject", latency_ms=9999),
        trace("other", at[3], decision="reject", latency_ms=9999),
    ]
    store.save_traces(rows)
    for row, thumbs in ((rows[0], -1), (rows[1], -1), (rows[2], 1), (rows[12], -1)):
        store.add_feedback(row.id, thumbs=thumbs)
    items = [
        (T0 + timedelta(minutes=1), None),  # still waiting at the end: 240 s
        (T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)),  # 60 s
        (T0 - timedelta(minutes=10), T0 + timedelta(minutes=4)),  # 840 s
        (T0 - timedelta(minutes=30), T0 - timedelta(minutes=20)),  # decided before the window: not counted
        (END + timedelta(minutes=1), None),  # created after the end
    ]
    with store.engine.begin() as conn:
        for index, (created, decided) in enumerate(items):
            conn.execute(
                insert(ReviewItemRow).values(
                    id=f"rev_{index}",
                    feature="menu",
                    reason="stopped",
                    status="decided" if decided else "pending",
                    created_at=created,
                    decided_at=decided,
                )
            )


EXPECTED: list[tuple[str, dict[str, Any], float, Proportion | None]] = [
    ("error_rate", {}, 2 / 9, Proportion(2, 9)),  # of the 9 calls the AI (or its cache) was asked
    ("label_share", {"path": "decision", "label": "reject"}, 3 / 7, Proportion(3, 7)),  # of its 7 answers
    ("label_share", {"path": "items.0.label", "label": ["reject", "nope"]}, 3 / 7, Proportion(3, 7)),
    ("route_share", {"route": "human"}, 2 / 11, Proportion(2, 11)),
    ("cache_hit_rate", {}, 1 / 11, Proportion(1, 11)),
    ("negative_feedback_rate", {}, 2 / 3, Proportion(2, 3)),
    ("calls_per_minute", {}, 11 / 5, None),
    ("cost_per_hour", {}, 0.06 * 12, None),
    ("latency_p50_ms", {}, 400.0, None),
    ("latency_p95_ms", {}, 1600.0, None),  # rank 7.6 of 0..8: 1000 + 0.6 · (2000 - 1000)
    ("judge_score", {"path": "judge.score", "in_tags": True}, 0.7, None),
    ("review_backlog", {}, 1.0, None),
    ("review_median_wait_s", {}, 240.0, None),
]


@pytest.mark.parametrize(
    ("metric", "source", "value", "counts"), EXPECTED, ids=[f"{m}-{i}" for i, (m, *_) in enumerate(EXPECTED)]
)
async def test_trace_metrics_are_counted_in_sql(
    open_ws: Any, metric: str, source: dict[str, Any], value: float, counts: Proportion | None
) -> None:
    ws = open_ws({"m": monitor(metric, **source)})
    seed(ws.store)
    (built,) = build_monitors(ws.config).values()
    async with httpx.AsyncClient() as http:
        measured = await measure(ws, built, END, http=http)
    assert measured.error is None
    # abs: SQLite's julianday() resolves about 10 µs, which is all the review wait can be off by
    assert measured.value == pytest.approx(value, rel=1e-9, abs=1e-3)
    assert measured.counts == counts


async def test_share_detectors_get_counts_and_numeric_ones_the_share(open_ws: Any) -> None:
    ws = open_ws(
        {
            "counts": monitor("label_share", path="decision", label="reject", detector={"type": "proportion"}),
            "share": monitor("label_share", path="decision", label="reject"),
        }
    )
    seed(ws.store)
    monitors = build_monitors(ws.config)
    async with httpx.AsyncClient() as http:
        measured = await measure(ws, monitors["counts"], END, http=http)
    assert measured.detector_value(monitors["counts"].takes_counts) == Proportion(3, 7)
    assert measured.detector_value(monitors["share"].takes_counts) == pytest.approx(3 / 7)


async def test_a_window_without_calls_is_no_data_not_zero(open_ws: Any) -> None:
    ws = open_ws({"m": monitor("error_rate"), "p": monitor("latency_p95_ms"), "c": monitor("calls_per_minute")})
    monitors = build_monitors(ws.config)
    async with httpx.AsyncClient() as http:
        assert (await measure(ws, monitors["m"], END, http=http)).value is None
        assert (await measure(ws, monitors["p"], END, http=http)).value is None
        assert (await measure(ws, monitors["c"], END, http=http)).value == 0.0  # no traffic is a real value


async def test_baseline_previous_window_gives_the_difference(open_ws: Any) -> None:
    spec = monitor("calls_per_minute") | {"baseline": "previous_window"}
    ratio = monitor("calls_per_minute") | {"baseline": {"of": "previous_window", "compare": "ratio"}}
    ws = open_ws({"diff": spec, "ratio": ratio})
    seed(ws.store)
    ws.store.save_traces([trace("menu", T0 - timedelta(minutes=2)) for _ in range(4)])  # 5 before T0 in all
    monitors = build_monitors(ws.config)
    async with httpx.AsyncClient() as http:
        diff = await measure(ws, monitors["diff"], END, http=http)
        ratio_m = await measure(ws, monitors["ratio"], END, http=http)
    assert diff.baseline == pytest.approx(5 / 5)
    assert diff.value == pytest.approx(11 / 5 - 1)
    assert ratio_m.value == pytest.approx((11 / 5) / 1)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    latencies=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=25),
    q=st.sampled_from([0.0, 0.5, 0.9, 0.95, 1.0]),
)
def test_percentile_matches_linear_interpolation(store: Store, latencies: list[int], q: float) -> None:
    feature = f"f{abs(hash((tuple(latencies), q))) % 10**12}"
    store.save_traces([trace(feature, T0 + timedelta(seconds=i), latency_ms=float(x)) for i, x in enumerate(latencies)])
    got, count = store.trace_latency_percentile(feature, T0, END, q)
    ordered = sorted(latencies)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    want = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    assert count == len(latencies)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-9)


# external sources ------------------------------------------------------------------------------------


def external(source: dict[str, Any], metric: str = "m") -> Monitor:
    config = WorkspaceConfig.model_validate(
        {
            "features": {"menu": MENU},
            "monitors": {
                "x": {
                    "feature": "menu",
                    "metric": metric,
                    "source": source,
                    "actions": [],
                    "detector": {"type": "threshold", "fail_above": 1},
                }
            },
        }
    )
    return build_monitors(config)["x"]


def answering(status: int, body: Any, seen: list[httpx.Request] | None = None) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return httpx.Response(status, content=content, headers={"content-type": "application/json"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


PROM = {"type": "prometheus", "url": "http://prom.test:9090/", "query": "sum(rate(errors[5m]))"}


def vector(*values: str) -> dict[str, Any]:
    result = [{"metric": {"job": f"j{i}"}, "value": [1700000000.0, v]} for i, v in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


async def test_prometheus_instant_query_is_asked_at_the_window_end() -> None:
    seen: list[httpx.Request] = []
    async with answering(200, vector("0.25"), seen) as http:
        measured = await measure(None, external(PROM), END, http=http)  # type: ignore[arg-type]
    assert measured.value == 0.25
    assert seen[0].url.path == "/api/v1/query"
    assert seen[0].url.params["query"] == "sum(rate(errors[5m]))"
    assert float(seen[0].url.params["time"]) == END.timestamp()


@pytest.mark.parametrize(
    ("status", "body", "value", "error"),
    [
        (200, vector(), None, None),  # no series: no data
        (200, vector("NaN"), None, None),
        (200, {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "7"]}}, 7.0, None),
        (200, vector("1", "2"), None, "2 series"),
        (400, {"status": "error", "errorType": "bad_data", "error": "parse error"}, None, "parse error"),
        (200, {"status": "success", "data": {"resultType": "matrix", "result": []}}, None, "matrix"),
        (502, b"<html>bad gateway</html>", None, "HTTP 502"),
    ],
)
async def test_prometheus_answers(status: int, body: Any, value: float | None, error: str | None) -> None:
    async with answering(status, body) as http:
        measured = await measure(None, external(PROM), END, http=http)  # type: ignore[arg-type]
    assert measured.value == value
    if error is None:
        assert measured.error is None
    else:
        assert measured.error is not None and error in measured.error


async def test_unreachable_source_is_an_error_measurement() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        measured = await measure(None, external(PROM), END, http=http)  # type: ignore[arg-type]
    assert measured.value is None and measured.error is not None and "refused" in measured.error


@pytest.mark.parametrize(
    ("body", "value", "error"),
    [
        ({"data": {"series": [{"v": 3.5}]}}, 3.5, None),
        ({"data": {"series": [{"v": "4"}]}}, 4.0, None),
        ({"data": {"series": [{"v": None}]}}, None, None),
        ({"data": {"series": []}}, None, "no 0 "),
        ({"data": {"series": [{"v": "high"}]}}, None, "not a number"),
        ({"data": {"series": [{"v": True}]}}, None, "not a number"),
    ],
)
async def test_http_json_reads_the_dot_path(body: Any, value: float | None, error: str | None) -> None:
    source = {"type": "http_json", "url": "http://metrics.test/now", "path": "data.series.0.v"}
    async with answering(200, body) as http:
        measured = await measure(None, external(source), END, http=http)  # type: ignore[arg-type]
    assert measured.value == value
    assert (measured.error is None) if error is None else (error in (measured.error or ""))


@given(st.lists(st.one_of(st.text("abcxyz_", min_size=1, max_size=5), st.integers(0, 5)), min_size=1, max_size=5))
def test_json_path_round_trips(parts: list[str | int]) -> None:
    text = ".".join(str(p) for p in parts)
    assert json_path(text) == tuple(parts)
    nested: Any = "leaf"
    for part in reversed(parts):
        nested = [*([None] * part), nested] if isinstance(part, int) else {part: nested}
    assert pick(nested, text) == "leaf"


async def test_pushed_values_are_aggregated_per_window(open_ws: Any) -> None:
    base = {
        "feature": "menu",
        "metric": "orders",
        "window": "5m",
        "actions": [],
        "detector": {"type": "threshold", "fail_below": 1},
    }
    ws = open_ws(
        {
            name: base | {"source": {"type": "pushed", "name": "orders", "aggregate": name}}
            for name in ("mean", "sum", "min", "max", "last", "count")
        }
    )
    ws.store.save_metric_values(
        [("orders", T0 + timedelta(minutes=i), v) for i, v in enumerate([4.0, 1.0, 7.0])]
        + [("orders", END, 100.0), ("other", T0, 50.0)],
        api_key_id=None,
    )
    monitors = build_monitors(ws.config)
    async with httpx.AsyncClient() as http:
        got = {n: (await measure(ws, m, END, http=http)).value for n, m in monitors.items()}
    assert got == {"mean": 4.0, "sum": 12.0, "min": 1.0, "max": 7.0, "last": 7.0, "count": 3.0}


@given(st.integers(1, 10_000), st.sampled_from(["s", "m", "h", "d", "w", ""]))
def test_durations_parse(amount: int, unit: str) -> None:
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 1}[unit]
    assert parse_duration(f"{amount}{unit}") == amount * factor
    assert parse_duration(amount) == amount
