"""What a metric is expected to be at a given time: the recent median, or the median of the same time of
day (or week) over the last few seasons; residuals against it are what most detectors judge.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# 1.4826 · MAD and 1.2533 · mean absolute deviation both estimate σ for normal noise; the larger one is
# used, so a metric that is mostly constant with rare small steps (MAD 0) still gets a usable scale.
_MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533


class BaselineSettings(BaseModel):
    """How the expected value is formed: ``season`` in seconds (86400 daily, 604800 weekly, null for none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(default=48, ge=1, description="recent points whose median is the level")
    season: float | None = Field(default=86400.0, gt=0, description="season length in seconds; null: none")
    season_bins: int = Field(default=96, ge=1, description="slots per season (96 = 15 min of a day)")
    seasons: int = Field(default=4, ge=1, description="past seasons remembered per slot")
    min_seasons: int = Field(default=2, ge=1, description="seasons a slot needs before it is trusted")


def robust_scale(values: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """A σ estimate that ignores outliers yet is not 0 for mostly-constant data (0 if all are equal)."""
    if values.size == 0:
        return 0.0
    centred = np.abs(values - np.median(values))
    return float(max(_MAD_TO_SD * np.median(centred), _MEAN_AD_TO_SD * np.mean(centred)))


class Baseline:
    """Expected value at a time, learned online; its whole memory is bounded and JSON-serialisable.

    >>> b = Baseline(BaselineSettings(window=3, season=None))
    >>> for ts, x in [(0, 10.0), (60, 12.0), (120, 11.0)]:
    ...     b.learn(ts, x)
    >>> b.expected(180)
    11.0
    """

    def __init__(self, settings: BaselineSettings) -> None:
        self.settings = settings
        self._recent: deque[float] = deque(maxlen=settings.window)
        # slot -> [(season index, value)], oldest first, at most `seasons` seasons back
        self._slots: dict[int, deque[tuple[int, float]]] = {}

    def _slot(self, ts: float) -> tuple[int, int]:
        season = self.settings.season
        assert season is not None
        index = math.floor(ts / season)
        slot = min(self.settings.season_bins - 1, int((ts - index * season) / season * self.settings.season_bins))
        return index, slot

    def expected(self, ts: float) -> float | None:
        """The expected value at ``ts``; None while learning (no point yet, or a seasonal slot not yet
        seen in ``min_seasons`` past seasons: falling back to the recent median would make the daily
        swing itself look like a string of anomalies).
        """
        if self.settings.season is not None:
            index, slot = self._slot(ts)
            held = [(i, v) for i, v in self._slots.get(slot, ()) if index - self.settings.seasons <= i < index]
            if len({i for i, _ in held}) < self.settings.min_seasons:
                return None
            return float(np.median([v for _, v in held]))
        if not self._recent:
            return None
        return float(np.median(np.fromiter(self._recent, float, len(self._recent))))

    def learn(self, ts: float, value: float) -> None:
        """Remember ``value`` at ``ts``."""
        self._recent.append(value)
        if self.settings.season is None:
            return
        index, slot = self._slot(ts)
        held = self._slots.setdefault(slot, deque())
        held.append((index, value))
        while held and held[0][0] < index - self.settings.seasons:
            held.popleft()

    def save(self) -> dict[str, Any]:
        """The memory as plain JSON data."""
        return {
            "recent": list(self._recent),
            "slots": {str(k): [[i, v] for i, v in held] for k, held in self._slots.items()},
        }

    def load(self, data: dict[str, Any]) -> None:
        """Take back what :meth:`save` returned (bounded again by the current settings)."""
        self._recent = deque((float(v) for v in data["recent"]), maxlen=self.settings.window)
        self._slots = {int(k): deque((int(i), float(v)) for i, v in held) for k, held in dict(data["slots"]).items()}


class Residuals:
    """Residuals against a :class:`Baseline` and their recent robust scale: the input of most detectors."""

    def __init__(self, settings: BaselineSettings, scale_window: int) -> None:
        self.baseline = Baseline(settings)
        self._past: deque[float] = deque(maxlen=scale_window)
        # a spread estimated from a handful of residuals would turn ordinary noise into alarms
        self._min_past = min(20, scale_window)

    def step(self, ts: float, value: float) -> tuple[float, float] | None:
        """``(residual, scale)`` of ``value`` against what was expected before it, then learn it; None while
        the baseline or the spread is still learning. ``scale`` has a tiny floor, so a flat line has one.
        """
        expected = self.baseline.expected(ts)
        self.baseline.learn(ts, value)
        if expected is None:
            return None
        residual = value - expected
        ready = len(self._past) >= self._min_past
        scale = robust_scale(np.fromiter(self._past, float, len(self._past))) if ready else 0.0
        self._past.append(residual)
        if not ready:
            return None
        return residual, max(scale, 1e-9 * (1.0 + abs(expected)))

    def save(self) -> dict[str, Any]:
        """Baseline and residual memory as plain JSON data."""
        return {"baseline": self.baseline.save(), "past": list(self._past)}

    def load(self, data: dict[str, Any]) -> None:
        """Take back what :meth:`save` returned."""
        self.baseline.load(data["baseline"])
        self._past = deque((float(v) for v in data["past"]), maxlen=self._past.maxlen)
