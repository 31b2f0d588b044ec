"""Backtest: replay a monitor over stored history — its traces or pushed values recomputed window by window,
else the points the watcher stored — through a fresh detector, and say when it would have fired.

A team tunes a monitor on its own past before turning it on; false alarms recorded for the monitor (an
incident confirmed as one) are shown beside it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from andon.errors import ConfigError
from andon.messages import t
from andon.store.watch import WatchPoint
from andon.watch.detectors.base import Proportion
from andon.watch.monitors import Measurement, Monitor, MonitorState, aligned, step
from andon.watch.sources import measure
from andon.workspace import Workspace

MAX_POINTS = 200_000


@dataclass(frozen=True)
class Firing:
    """One breach the replay found: when it was confirmed, when its failing run began, and what would happen."""

    at: datetime
    since: datetime
    decision: str  # act | shadow | cooldown
    value: float | None
    reason: str


@dataclass(frozen=True)
class BacktestResult:
    """A replay of one monitor over [start, end]."""

    monitor: str
    start: datetime
    end: datetime
    replayed: str  # traces | pushed | stored points
    points: list[WatchPoint] = field(default_factory=list)
    firings: list[Firing] = field(default_factory=list)
    false_alarms: int | None = None  # recorded for this monitor; None when incidents cannot tell

    @property
    def counts(self) -> dict[str, int]:
        """How many points ended in each state."""
        out: dict[str, int] = {}
        for point in self.points:
            out[point.state] = out.get(point.state, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for ``--json``."""
        return {
            "monitor": self.monitor,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "replayed": self.replayed,
            "points": len(self.points),
            "states": self.counts,
            "firings": [
                {
                    "at": f.at.isoformat(),
                    "since": f.since.isoformat(),
                    "decision": f.decision,
                    "value": f.value,
                    "reason": f.reason,
                }
                for f in self.firings
            ],
            "false_alarms": self.false_alarms,
        }


async def backtest(ws: Workspace, monitor: Monitor, start: datetime, end: datetime) -> BacktestResult:
    """Replay ``monitor`` at each of its ticks in [start, end] from a fresh detector; nothing is stored."""
    if end <= start:
        raise ConfigError(t("watch.backtest.empty_range"), where="--from/--to", hint=t("watch.backtest.range_hint"))
    interval = monitor.config.interval
    ticks = int((end - start).total_seconds() // interval) + 1
    if ticks > MAX_POINTS:
        raise ConfigError(
            t("watch.backtest.too_long", ticks=ticks, limit=MAX_POINTS),
            where="--from/--to",
            hint=t("watch.backtest.range_hint"),
        )
    kind = monitor.config.source.type
    stored: dict[datetime, WatchPoint] = {}
    if kind in ("prometheus", "http_json"):
        replayed = "stored points"
        stored = {p.ts: p for p in ws.store.watch_points(monitor.name, start=start, end=end + timedelta(seconds=1))}
    else:
        replayed = kind
    ts = aligned(start, interval)
    if ts < start:
        ts += timedelta(seconds=interval)
    state: MonitorState | None = None
    points: list[WatchPoint] = []
    firings: list[Firing] = []
    async with httpx.AsyncClient() as http:  # never used by traces or pushed sources; measure() wants one
        while ts <= end:
            if kind in ("prometheus", "http_json"):
                measured = _replay(stored.get(ts))
            else:
                measured = await measure(ws, monitor, ts, http=http)
            result = step(monitor, state, ts, measured)
            state = result.state
            points.append(result.point)
            if result.decision in ("act", "shadow", "cooldown") and result.state.fail_since is not None:
                since = datetime.fromtimestamp(result.state.fail_since, ts.tzinfo)
                firings.append(Firing(ts, since, result.decision, result.point.value, result.point.reason))
            ts += timedelta(seconds=interval)
    return BacktestResult(monitor.name, start, end, replayed, points, firings, false_alarms(ws, monitor.name))


def _replay(point: WatchPoint | None) -> Measurement:
    """A stored point as the measurement it was made from (its value already has any baseline applied)."""
    if point is None:
        return Measurement()
    if point.state == "error":
        return Measurement(error=point.reason)
    counts = None
    if point.successes is not None and point.trials is not None:
        counts = Proportion(point.successes, point.trials)
    return Measurement(value=point.value, counts=counts, calls=point.trials, baseline=point.baseline)


def false_alarms(ws: Workspace, monitor: str) -> int | None:
    """Incidents of ``monitor`` confirmed as false alarms, when ``andon.watch.incidents`` counts them."""
    if importlib.util.find_spec("andon.watch.incidents") is None:
        return None
    incidents = importlib.import_module("andon.watch.incidents")
    counter = getattr(incidents, "false_alarm_counts", None)
    if counter is None:
        return None
    counts = counter(ws)
    if isinstance(counts, dict):
        value = counts.get(monitor, 0)
        return int(value) if isinstance(value, int) else None
    return None
