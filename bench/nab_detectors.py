"""Detector set-ups the NAB bench can run: each makes a fresh per-file scorer ``(ts, value) -> score``.

``andon`` (the default) is the registered ``ensemble`` detector with its default settings
(``andon.watch.detectors.ensemble``): the combination below with a ``shift`` statistic (absolute mean of
the signed residuals over 30 points) in place of the 10-point mean, a ``coarse`` statistic (the residual of
30-point means against the median of the 48 means before them), and a history of 3000 points;
``andon-no-coarse`` is the default without ``coarse`` (the default before branch nab19);
``andon-with-level`` adds the 10-point mean back (the ensemble's earlier default), ``andon-no-hold`` turns off
its one-report-per-breach hold (the default before it). ``andon-bench-surprise`` is the
earlier bench-only version of it, kept for comparison, the same for every file:

1. three baselines side by side (recent median, same time of day, same time of week; the seasonal ones
   only once they have seen two seasons), and per point the one with the smallest median absolute
   residual over the last 200 points: a metric without seasonality keeps the recent median;
2. two surprise statistics on that residual, in robust σ: the point itself, and the mean over the
   last 10 points (slow, sustained changes);
3. each statistic divided by its own 99th percentile over the last 1000 points, so the score says how
   unusual this is *for this metric*; score = r / (1 + r) of the larger ratio (0.5: as high as 1 % of
   the recent past);
4. de-duplication: a score counts only when it exceeds every score of the last 100 points (an alert
   already raised is not raised again unless something worse happens).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from andon.watch import build_detector
from andon.watch.detectors.base import severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals

Scorer = Callable[[float, float], float]

DAY_S = 86400.0
WEEK_S = 7 * DAY_S


def single(settings: dict[str, Any]) -> Callable[[], Scorer]:
    """One andon detector with its default settings; its verdict score is the anomaly score."""

    def make() -> Scorer:
        detector = build_detector(settings)
        return lambda ts, x: detector.update(ts, x).score

    return make


class Surprise:
    """The default combination (see the module docstring); one instance per file."""

    def __init__(
        self,
        seasons: tuple[float | None, ...] = (None, DAY_S, WEEK_S),
        history: int = 1000,
        quantile: float = 0.99,
        short: int = 10,
        cooldown: int = 100,
        error_window: int = 200,
    ) -> None:
        self._models = [Residuals(BaselineSettings(season=s), scale_window=200) for s in seasons]
        self._errors: list[deque[float]] = [deque(maxlen=error_window) for _ in seasons]
        self._z: deque[float] = deque(maxlen=history)
        self._mean: deque[float] = deque(maxlen=history)
        self._last: deque[float] = deque(maxlen=short)
        self._recent: deque[float] = deque(maxlen=cooldown)
        self._quantile = quantile

    def _best(self, steps: list[tuple[float, float] | None]) -> tuple[float, float] | None:
        """The step of the model with the smallest recent median absolute residual (the first while unsure);
        a median, so an anomaly itself does not make the selector drop the model that exposes it.
        """
        ranked = []
        for i, step in enumerate(steps):
            if step is None:
                continue
            errors = self._errors[i]
            known = len(errors) >= (errors.maxlen or 1) // 2
            ranked.append((float(np.median(np.fromiter(errors, float, len(errors)))) if known else math.inf, i))
            errors.append(abs(step[0]))
        return steps[min(ranked)[1]] if ranked else None

    def _ratio(self, value: float, past: deque[float]) -> float:
        reference = float(np.quantile(np.fromiter(past, float, len(past)), self._quantile))
        return value / max(reference, 1e-9)

    def __call__(self, ts: float, x: float) -> float:
        step = self._best([m.step(ts, x) for m in self._models])
        if step is None:
            return 0.0
        residual, scale = step
        z = min(abs(residual) / scale, 1e6)
        self._last.append(z)
        mean = sum(self._last) / len(self._last)
        raw = 0.0
        if len(self._z) >= 100:
            raw = severity(max(self._ratio(z, self._z), self._ratio(mean, self._mean)))
        self._z.append(z)
        self._mean.append(mean)
        louder = not self._recent or raw > max(self._recent)
        self._recent.append(raw)
        return raw if louder else 0.0


PRESETS: dict[str, Callable[[], Scorer]] = {
    "andon": single({"type": "ensemble"}),
    "andon-no-coarse": single({"type": "ensemble", "statistics": ["spike", "shift"]}),
    "andon-with-level": single({"type": "ensemble", "statistics": ["spike", "level", "shift"]}),
    "andon-no-hold": single({"type": "ensemble", "hold": 0}),
    "andon-bench-surprise": Surprise,
    "robust-z": single({"type": "robust-z"}),
    "ewma": single({"type": "ewma"}),
    "cusum": single({"type": "cusum"}),
    "band": single({"type": "band"}),
    "adwin": single({"type": "adwin"}),
    "page-hinkley": single({"type": "page-hinkley"}),
    "kswin": single({"type": "kswin"}),
    "andon-no-season": lambda: Surprise(seasons=(None,)),
    "andon-no-dedup": lambda: Surprise(cooldown=1),
}
