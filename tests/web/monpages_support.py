"""A web workspace with monitors in andon.yaml, and points stored by running the real watcher a few ticks.

folder = write_monitor_workspace(tmp)
run_watcher(folder, {"menu_errors": [0.1, 0.3, 0.7]}, start=...)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.web.web_support import web_config, write_web_workspace

from andon.watch.watcher import Watcher
from andon.workspace import Workspace

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
