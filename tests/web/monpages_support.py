"""A web workspace with monitors in andon.yaml, and points stored by running the real watcher a few ticks.

folder = write_monitor_workspace(tmp)
run_watcher(folder, {"menu_errors": [0.1, 0.3, 0.7]}, start=...)
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.web.web_support import web_config, write_web_workspace

from andon.watch.watcher import Watcher
from andon.workspace import Workspace

_CIRCLE = re.compile(r'<circle class="mark mark-(warn|fail)" cx="([\d.]+)" cy="([\d.]+)"')
_BOX = re.compile(
    r'<rect class="mark mark-(warn|fail) mark-span" x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"'
)
R = 3.5  # the circle radius the chart pads a box by
Box = tuple[str, float, float, float, float]  # (kind, left, top, right, bottom) in pixels
RUNBOOK = "https://runbooks.example/menu-errors"
WARN, FAIL = 0.2, 0.5


def monitors_config() -> dict[str, Any]:
    """Two monitors: ``menu_errors`` (pushed values, static thresholds, shadow) and ``echo_latency`` (never run)."""
    return {
        "menu_errors": {
            "description": "Share of menu checks that error.",
            "feature": "menu",
            "metric": "errors",
            "source": {"type": "pushed", "name": "menu_errors", "aggregate": "max"},
            "interval": 60,
            "window": 60,
            "detector": {"type": "threshold", "warn_above": WARN, "fail_above": FAIL},
            "mode": "shadow",
            "owner": "team-menu",
            "runbook": RUNBOOK,
        },
        "echo_latency": {
            "feature": "echo",
            "metric": "latency_p95_ms",
            "detector": {"type": "threshold", "fail_above": 2000},
            "owner": "team-echo",
        },
    }


def write_monitor_workspace(folder: Path) -> Path:
    """The web bench's workspace (features, users) with :func:`monitors_config` added to andon.yaml."""
    write_web_workspace(folder)
    config = web_config() | {"monitors": monitors_config()}
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


def run_watcher(folder: Path, values: Mapping[str, Sequence[float]], *, start: datetime) -> None:
    """Push value i of each monitor into minute i after ``start``, then tick the real watcher over those minutes."""
    minutes = max(len(v) for v in values.values()) + 1
    with Workspace.open(folder) as ws:
        for name, series in values.items():
            pushed = [(name, start + timedelta(minutes=i, seconds=30), v) for i, v in enumerate(series)]
            ws.store.save_metric_values(pushed, api_key_id=None)

        async def ticks() -> None:
            async with Watcher(ws, only=list(values)) as watcher:
                for minute in range(minutes):
                    await watcher.tick(start + timedelta(minutes=minute, seconds=2))

        asyncio.run(ticks())


def boxes(svg: str) -> list[Box]:
    """Every warn/fail mark of a chart as the box around the points it stands for (a circle is one point)."""
    out: list[Box] = [(k, float(x), float(y), float(x), float(y)) for k, x, y in _CIRCLE.findall(svg)]
    for kind, x, y, w, h in _BOX.findall(svg):
        left, top = float(x) + R, float(y) + R
        out.append((kind, left, top, left + float(w) - 2 * R, top + float(h) - 2 * R))
    return out


def covered(found: Sequence[Box], kind: str, px: float, py: float, slack: float = 0.02) -> bool:
    """Whether the pixel (px, py) of a ``kind`` point lies in one of the ``found`` marks of that kind."""
    return any(k == kind and a - slack <= px <= c + slack and b - slack <= py <= d + slack for k, a, b, c, d in found)
