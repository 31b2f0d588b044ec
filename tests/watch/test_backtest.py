"""Backtest: stored history replayed through a monitor's detector (traces recomputed window by window,
or the points the watcher stored); when it would have fired; false alarms recorded for the monitor; the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.watch import watch_support
from tests.watch.watch_support import trace

from andon.errors import ConfigError
from andon.watch import incidents
from andon.watch.backtest import backtest
from andon.watch.monitors import build_monitors
from andon.watch.watcher import Watcher, monitor_status

# Fixtures shared by the watch tests (pytest finds them by these names).
open_ws = watch_support.open_ws

T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
REJECTS = {
    "feature": "menu",
    "metric": "label_share",
    "source": {"path": "decision", "label": "reject"},
    "interval": "5m",
    "window": "5m",
    "cooldown": "1d",
    "detector": {"type": "proportion", "warmup": 3, "baseline_windows": 12, "min_baseline_trials": 200},
}


def history(ws: Any, *, shift_at: int | None) -> None:
    """Two hours of 40 calls a minute, 10 % rejects; from minute ``shift_at`` on, 40 %."""
    rows = []
    for minute in range(120):
        share = 0.4 if shift_at is not None and minute >= shift_at else 0.1
        rejects = round(40 * share)
        for call in range(40):
            at = T0 + timedelta(minutes=minute, seconds=call)
            rows.append(trace("menu", at, decision="reject" if call < rejects else "approve"))
    ws.store.save_traces(rows)


async def test_backtest_finds_when_a_shift_would_have_fired(open_ws: Any) -> None:
    ws = open_ws({"rejects": REJECTS})
    history(ws, shift_at=90)
    monitor = build_monitors(ws.config)["rejects"]
    result = await backtest(ws, monitor, T0, T0 + timedelta(hours=2))
    assert result.replayed == "traces" and len(result.points) == 25
    (first, *_) = result.firings
    assert first.at == T0 + timedelta(minutes=95) and first.decision == "act"  # the first window after the shift
    assert first.value == pytest.approx(0.4)
    assert all(f.decision != "act" for f in result.firings[1:])  # the cooldown holds later ones back
    assert ws.store.watch_points("rejects") == []  # a backtest stores nothing
    assert result.false_alarms is None or result.false_alarms == 0


async def test_calm_history_never_fires(open_ws: Any) -> None:
    ws = open_ws({"rejects": REJECTS})
    history(ws, shift_at=None)
    result = await backtest(ws, build_monitors(ws.config)["rejects"], T0, T0 + timedelta(hours=2))
    assert result.firings == [] and result.counts.get("fail", 0) == 0


async def test_stored_points_are_replayed_for_external_sources(open_ws: Any) -> None:
    prom = {
        "feature": "menu",
        "metric": "p99",
        "interval": 60,
        "window": 60,
        "actions": [],
        "source": {"type": "prometheus", "url": "http://prom.test", "query": "p99"},
        "detector": {"type": "threshold", "fail_above": 3},
    }
    ws = open_ws({"latency": prom})
    values = iter(["1", "1", "1", "5", "5", "1"])

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"status": "success", "data": {"resultType": "scalar", "result": [0, next(values)]}}
        return httpx.Response(200, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http, Watcher(ws, http=http) as watcher:
        for minute in range(1, 7):
            await watcher.tick(T0 + timedelta(minutes=minute))
    result = await backtest(ws, build_monitors(ws.config)["latency"], T0, T0 + timedelta(minutes=7))
    assert result.replayed == "stored points"
    assert [f.at for f in result.firings] == [T0 + timedelta(minutes=4)]
    assert result.counts == {"fail": 2, "ok": 4, "paused": 2}  # minutes 0 and 7 were never measured


async def test_false_alarms_of_the_monitor_are_shown(open_ws: Any) -> None:
    ws = open_ws({"rejects": REJECTS})
    opened = incidents.open_incident(
        ws, feature="menu", title="t", actor="monitor:rejects", detected_at=T0, monitor="rejects", dedupe_key="k"
    )
    incidents.advance(ws, opened.id, "confirmed", actor="jimin", false_alarm=True, cause="a holiday")
    result = await backtest(ws, build_monitors(ws.config)["rejects"], T0, T0 + timedelta(hours=1))
    assert result.false_alarms == 1


async def test_bad_ranges_are_refused(open_ws: Any) -> None:
    ws = open_ws({"rejects": REJECTS})
    monitor = build_monitors(ws.config)["rejects"]
    with pytest.raises(ConfigError, match="after --from"):
        await backtest(ws, monitor, T0, T0)
    with pytest.raises(ConfigError, match="at most"):
        await backtest(ws, monitor, T0, T0 + timedelta(days=10_000))


def andon(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "andon", "--workspace", str(root), *args], capture_output=True, text=True, timeout=120
    )


def test_cli_backtest_and_status(tmp_path: Path) -> None:
    from tests.watch.watch_support import write_workspace

    from andon.workspace import Workspace

    root = write_workspace(tmp_path, {"rejects": REJECTS})
    with Workspace.open(root) as ws:
        history(ws, shift_at=90)
        (status,) = monitor_status(ws)
        assert status.status == "new"
    done = andon(
        root, "watch", "backtest", "rejects", "--from", T0.isoformat(), "--to", "2026-11-30T02:00:00", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["firings"][0]["at"] == (T0 + timedelta(minutes=95)).isoformat()
    text = andon(root, "watch", "backtest", "rejects", "--from", T0.isoformat(), "--to", "2026-11-30T02:00:00")
    assert "would have fired at 2026-11-30T01:35:00+00:00" in text.stdout
    korean = andon(
        root, "--lang", "ko", "watch", "backtest", "rejects", "--from", T0.isoformat(), "--to", "2026-11-30T02:00:00"
    )
    assert "발동했을 것입니다" in korean.stdout
    bad = andon(root, "watch", "backtest", "rejects", "--from", "last tuesday")
    assert bad.returncode == 2 and "--from" in bad.stderr and "Traceback" not in bad.stderr
    unknown = andon(root, "watch", "backtest", "rejectz")
    assert unknown.returncode == 2 and "known: rejects" in unknown.stderr
    status_json = andon(root, "watch", "status", "--json")
    assert status_json.returncode == 0, status_json.stderr
    (row,) = json.loads(status_json.stdout)["monitors"]
    assert row["name"] == "rejects" and row["status"] == "new" and row["detector"] == "proportion"
    table = andon(root, "watch", "status")
    assert "rejects" in table.stdout and "menu" in table.stdout
