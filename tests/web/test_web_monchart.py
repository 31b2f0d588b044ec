"""The monitor chart drawn from numpy columns is the chart drawn point by point (tests/web/chart_reference.py):
the same line corners, band outlines and warn/fail boxes, for random series with gaps, runs and duplicates;
and the monitor page draws the chart of its stored points."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from tests.web import chart_reference as reference
from tests.web.monpages_support import FAIL, WARN, run_watcher, write_monitor_workspace
from tests.web.web_support import WebServer, signed_in

from andon.store.models import utcnow
from andon.web.charts import band_areas, columns_chart, line_chart, mark_spans, scale_for, thinned
from andon.web.pages.monitors import columns_of
from andon.workspace import Workspace

LIMITS = [("warn", WARN), ("fail", FAIL)]
_SVG = re.compile(r'<svg class="chart chart-series".*?</svg>', re.S)

# Times on a coarse grid so that several points share a pixel column, values with repeats so extremes tie.
times = st.integers(0, 4000).map(lambda i: i * 15.0)
levels = st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.3, 0.7, 0.9, 1.5, -0.2])
point = st.tuples(times, levels, st.sampled_from(["ok", "warn", "fail", "warn"]), st.booleans(), levels)


@given(st.lists(point, max_size=300))
def test_the_columns_draw_the_point_by_point_chart(raw: list[tuple[float, float, str, bool, float]]) -> None:
    rows = sorted(raw, key=lambda r: r[0])
    series = [(x, y) for x, y, _, _, _ in rows]
    marks = [(s, x, y) for x, y, s, _, _ in rows if s != "ok"]
    band = [(x, (y - w) if has else None, (y + w) if has else None) for x, y, _, has, w in rows]
    args = {"label": "week", "thresholds": LIMITS, "marks": marks, "band": band, "span": (0.0, 60_000.0)}
    assert str(line_chart(series, **args)) == reference.line_chart(series, **args)
    assert str(line_chart(series, label="plain")) == reference.line_chart(series, label="plain")


@given(st.lists(st.tuples(st.floats(-50, 50, allow_nan=False), st.floats(-100, 100, allow_nan=False)), max_size=200))
def test_thinning_keeps_what_the_column_walk_keeps_even_out_of_order(placed: list[tuple[float, float]]) -> None:
    assert thinned(placed) == reference.thinned(placed)


@given(st.lists(st.tuples(st.sampled_from(["warn", "fail"]), st.floats(0, 600), st.floats(0, 1)), max_size=150))
def test_mark_boxes_agree_with_the_mark_walk_in_any_order(marks: list[tuple[str, float, float]]) -> None:
    scale = scale_for([(0.0, 0.0), (600.0, 1.0)], width=640, height=180)
    assert mark_spans(marks, scale) == reference.mark_spans(marks, scale)
    band = [(x, None if kind == "fail" and y > 0.8 else y / 2, y) for kind, x, y in marks]
    assert band_areas(band, scale) == reference.band_areas(band, scale)


def test_a_week_of_minutes_draws_as_before() -> None:
    rng = random.Random(11)
    series = [(60.0 * i, rng.uniform(0.0, 1.0)) for i in range(7 * 24 * 60)]
    marks = [("fail" if y > FAIL else "warn", x, y) for x, y in series if y > WARN]
    band = [(x, None if i % 997 == 0 else y - 0.1, y + 0.1) for i, (x, y) in enumerate(series)]
    args = {"label": "week", "thresholds": LIMITS, "marks": marks, "band": band}
    assert str(line_chart(series, **args)) == reference.line_chart(series, **args)


def test_the_page_draws_the_chart_of_its_stored_points(tmp_path: Path) -> None:
    folder = write_monitor_workspace(tmp_path)
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=3)
    values = [0.1, 0.3, 0.7, 0.8, 0.1, 0.25, 0.05, 0.9, 0.95, 0.2] * 6
    run_watcher(folder, {"menu_errors": values}, start=start)
    since = utcnow() - timedelta(hours=24)
    span = (since.timestamp(), utcnow().timestamp())
    with Workspace.open(folder) as ws:
        points = ws.store.watch_series("menu_errors", start=since)
        data = columns_of(ws.store.watch_columns("menu_errors", start=since))
        table = ws.store.watch_verdicts("menu_errors", start=since, limit=25)
        rows = ws.store.watch_points("menu_errors", start=since, limit=25)
    assert [(v.ts, v.value, v.state, v.reason, v.decision) for v in table] == [
        (p.ts, p.value, p.state, p.reason, p.decision) for p in reversed(rows)
    ]  # the table's rows: the newest points, newest first
    assert [v for _, v, _, _, _ in points if v is not None] == values  # and a point without a value (paused)
    # What the page drew before the columns: its lists of points, marks and band, point by point.
    series = [(ts, v) for ts, v, _, _, _ in points if v is not None]
    marks = [(s, ts, v) for ts, v, s, _, _ in points if s in ("warn", "fail") and v is not None]
    band = [(ts, low, high) for ts, _, _, low, high in points]
    band = band if any(low is not None for _, low, _ in band) else []
    drawn = str(columns_chart(data, label="menu", thresholds=LIMITS, span=span))
    assert drawn == reference.line_chart(series, label="menu", thresholds=LIMITS, marks=marks, band=band, span=span)
    assert {kind for kind, *_ in marks} == {"warn", "fail"}
    with WebServer(folder) as server, signed_in(server.base_url, "vera") as client:
        html = client.get("/monitors/menu_errors?hours=24").text
    (chart,) = _SVG.findall(html)
    assert set(re.findall(r'class="mark mark-(warn|fail)', chart)) == {"warn", "fail"}
    assert f"{len(points)}" in html.split("<figcaption>")[1].split("</figcaption>")[0]
