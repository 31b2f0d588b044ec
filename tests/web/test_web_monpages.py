"""The Monitors pages over HTTP: the list shows each monitor's state and last value, a monitor's chart marks
every stored warn/fail verdict and draws its thresholds, unknown monitors are 404, Korean; and the chart itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.web.monpages_support import FAIL, RUNBOOK, WARN, boxes, covered, run_watcher, write_monitor_workspace
from tests.web.web_support import WebServer, signed_in

from andon.store.models import utcnow
from andon.store.watch import WatchPoint
from andon.web.charts import line_chart, scale_for
from andon.workspace import Workspace

_MARK = re.compile(r'<circle class="mark mark-(warn|fail)" cx="([\d.]+)" cy="([\d.]+)"')
_LIMIT = re.compile(r'<line class="threshold threshold-(warn|fail)"')
RECENT = [0.1, 0.3, 0.7, 0.8, 0.1, 0.25, 0.05]  # ok, warn, fail, fail, ok, warn, ok
OLD = [0.9, 0.1]  # two days back: one fail only a week's window shows


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_monitor_workspace(tmp_path_factory.mktemp("web-monpages"))
    now = utcnow().replace(second=0, microsecond=0)
    run_watcher(folder, {"menu_errors": OLD}, start=now - timedelta(hours=50))
    run_watcher(folder, {"menu_errors": RECENT}, start=now - timedelta(hours=2))
    return folder


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def stored(folder: Path, hours: int) -> list[WatchPoint]:
    with Workspace.open(folder) as ws:
        return ws.store.watch_points("menu_errors", start=utcnow() - timedelta(hours=hours))


def test_the_list_shows_state_last_value_owner_and_runbook(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "vera") as client:
        response = client.get("/monitors")
    assert response.status_code == 200
    html = response.text
    row = html.split('data-monitor="menu_errors"')[1].split("</tr>")[0]
    last = stored(folder, 1000)[-1]
    assert last.value == pytest.approx(RECENT[-1])
    assert f'<td class="num mon-last-value">{last.value}</td>' in row
    assert "shadow" in row and "team-menu" in row and f'href="{RUNBOOK}"' in row
    assert 'href="/monitors/menu_errors"' in row
    never = html.split('data-monitor="echo_latency"')[1].split("</tr>")[0]
    assert "not yet measured" in never and "team-echo" in never and "live" in never
    assert 'href="/monitors" aria-current="page"' in html  # the nav line


@pytest.mark.parametrize("hours", [24, 168])
def test_the_chart_marks_every_stored_warn_and_fail(server: WebServer, folder: Path, hours: int) -> None:
    points = stored(folder, hours)
    bad = [p for p in points if p.state in ("warn", "fail")]
    assert {p.state for p in bad} == {"warn", "fail"}
    with signed_in(server.base_url, "vera") as client:
        end = utcnow()
        html = client.get(f"/monitors/menu_errors?hours={hours}").text
    found = boxes(html)  # a run of warn/fail points close together is one box, a lone one a circle
    assert {kind for kind, *_ in found} == {"warn", "fail"} and len(found) <= len(bad)
    series = [(p.ts.timestamp(), p.value) for p in points if p.value is not None]
    span = ((end - timedelta(hours=hours)).timestamp(), end.timestamp())
    scale = scale_for(series, [("warn", WARN), ("fail", FAIL)], width=640, height=180, span=span)
    assert all(covered(found, p.state, *scale.at(p.ts.timestamp(), p.value), slack=1.0) for p in bad if p.value)
    assert sorted(_LIMIT.findall(html)) == ["fail", "warn"]
    assert 'role="img"' in html and "aria-label=" in html
    assert len(re.findall(r"<tr><td>", html)) == len(points)  # the verdict table: one row per stored point
    assert ("fail" in [p.state for p in stored(folder, 168)[:3]]) and len(stored(folder, 168)) > len(stored(folder, 24))


def test_an_unknown_monitor_is_404(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as client:
        response = client.get("/monitors/nope")
    assert response.status_code == 404
    assert "nope" in response.text


def test_the_pages_read_in_korean(server: WebServer) -> None:
    with signed_in(server.base_url, "vera") as client:
        client.cookies.set("andon_lang", "ko")
        listing = client.get("/monitors").text
        detail = client.get("/monitors/menu_errors").text
        missing = client.get("/monitors/없음")
    assert '<html lang="ko">' in listing and "마지막 값" in listing and "아직 측정 전" in listing
    assert "판정 기록" in detail and "경고선" in detail and "실패선" in detail
    assert missing.status_code == 404 and "모니터가 없습니다" in missing.text


def test_the_chart_keeps_marks_inside_and_draws_an_empty_frame() -> None:
    series = [(float(i), v) for i, v in enumerate([0.1, 5.0, -2.0, 3.0])]
    chart = str(
        line_chart(series, label="a <b>", thresholds=[("warn", WARN), ("fail", FAIL)],
                   marks=[("fail", 1.0, 5.0), ("warn", 2.0, -2.0), ("fail", 99.0, 50.0)], width=200, height=100)
    )  # fmt: skip
    assert 'aria-label="a &lt;b&gt;"' in chart and "<b>" not in chart and "style=" not in chart
    found = [(float(x), float(y)) for _, x, y in _MARK.findall(chart)]
    assert len(found) == 3
    assert all(0 <= x <= 200 and 0 <= y <= 100 for x, y in found)  # one far outside is clamped, not lost
    scale = scale_for(series, width=200, height=100)
    assert found[0] == scale.at(1.0, 5.0) and found[0][1] < found[1][1]  # higher value, higher up
    empty = str(line_chart([], label="nothing"))
    assert 'role="img"' in empty and "<polyline" not in empty and "<circle" not in empty
