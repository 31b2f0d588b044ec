"""The Monitors chart's band and runs: a learning detector's expected range is stored with each point and shaded
on the chart (absent for a threshold detector); runs of warn/fail points become one box; a week of mostly bad
minutes stays a small SVG that still covers every bad point; thinning keeps each pixel column's extremes."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.web.monpages_support import FAIL, WARN, boxes, covered, monitors_config, run_watcher
from tests.web.web_support import WebServer, signed_in, web_config, write_web_workspace

from andon.store.models import utcnow
from andon.store.watch import WatchPoint
from andon.web.charts import line_chart, scale_for, thinned
from andon.workspace import Workspace

_BAND = re.compile(r'<polygon class="band" points="([^"]+)"')
CALM = [100.0 + (i % 5) for i in range(40)]  # the band detector learns a level and a spread from these


def band_monitor() -> dict[str, object]:
    """A pushed monitor judged by the ``band`` detector, learning fast (no season, short warm-up)."""
    return {
        "feature": "menu",
        "metric": "latency_p95_ms",
        "source": {"type": "pushed", "name": "menu_band", "aggregate": "max"},
        "interval": 60,
        "window": 60,
        "detector": {"type": "band", "warmup": 5, "baseline": {"season": None, "window": 20}},
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_web_workspace(tmp_path_factory.mktemp("web-monband"))
    config = web_config() | {"monitors": monitors_config() | {"menu_band": band_monitor()}}
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    now = utcnow().replace(second=0, microsecond=0)
    run_watcher(folder, {"menu_band": [*CALM, 160.0, 170.0, 180.0], "menu_errors": [0.1, 0.7, 0.8, 0.9, 0.1]},
                start=now - timedelta(hours=1))  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def stored(folder: Path, name: str) -> list[WatchPoint]:
    with Workspace.open(folder) as ws:
        return ws.store.watch_points(name, start=utcnow() - timedelta(hours=24))


def test_a_band_detector_stores_its_expected_range(folder: Path) -> None:
    points = stored(folder, "menu_band")
    banded = [p for p in points if p.band_low is not None and p.band_high is not None]
    assert banded and len(banded) < len(points)  # learning points have none yet
    calm = [p for p in banded if p.value is not None and p.value < 150]
    assert all(p.band_low <= p.value <= p.band_high for p in calm if p.band_low and p.band_high)
    assert points[-1].band_high is not None and points[-1].value is not None
    assert points[-1].value > points[-1].band_high and points[-1].state == "fail"
    assert all(p.band_low is None for p in stored(folder, "menu_errors"))  # a threshold detector has none


def test_the_chart_shades_the_band_only_where_the_detector_has_one(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as client:
        banded = client.get("/monitors/menu_band").text
        plain = client.get("/monitors/menu_errors").text
        client.cookies.set("andon_lang", "ko")
        korean = client.get("/monitors/menu_band").text
    [corners] = _BAND.findall(banded)
    assert len(corners.split()) >= 4
    assert "range the detector expected" in banded
    assert "<polygon" not in plain and "range the detector expected" not in plain
    assert "감지기가 예상한" in korean


def test_a_run_of_fails_is_one_box(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as client:
        html = client.get("/monitors/menu_errors").text
    found = boxes(html)
    assert [k for k, *_ in found] == ["fail"]  # three fails in a row a minute apart: one box
    _, _, top, _, bottom = found[0]
    assert bottom > top  # 0.7 … 0.9: the box spans the values' height


def test_a_week_of_mostly_bad_minutes_stays_small_and_covers_every_bad_point() -> None:
    rng = random.Random(7)
    minutes = 7 * 24 * 60
    values = [rng.uniform(0.0, 1.0) for _ in range(minutes)]
    states = ["fail" if v > FAIL else "warn" if v > WARN else "ok" for v in values]
    series = [(60.0 * i, v) for i, v in enumerate(values)]
    marks = [(s, x, v) for s, (x, v) in zip(states, series, strict=True) if s != "ok"]
    assert len(marks) > 0.75 * minutes
    limits = [("warn", WARN), ("fail", FAIL)]
    svg = str(line_chart(series, label="week", thresholds=limits, marks=marks))
    found = boxes(svg)
    assert len(found) <= 2 * 640 and len(svg) < 120_000
    scale = scale_for(series, limits, width=640, height=180)
    assert all(covered(found, s, *scale.at(x, y)) for s, x, y in marks)


points_strategy = st.lists(
    st.tuples(st.floats(0, 50, allow_nan=False), st.floats(0, 100, allow_nan=False)), min_size=1, max_size=200
)


@given(points_strategy)
def test_thinning_keeps_each_pixel_columns_extremes_in_order(raw: list[tuple[float, float]]) -> None:
    placed = sorted(raw)
    kept = thinned(placed)
    assert len(kept) <= 2 * (int(placed[-1][0]) - int(placed[0][0]) + 1)
    rest = iter(placed)
    assert all(any(p == q for q in rest) for p in kept)  # a subsequence: nothing invented, order kept
    for column in {int(x) for x, _ in placed}:
        ys = [y for x, y in placed if int(x) == column]
        held = [y for x, y in kept if int(x) == column]
        assert min(ys) in held and max(ys) in held
