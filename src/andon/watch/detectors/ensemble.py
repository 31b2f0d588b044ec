"""Ensemble: several baselines and surprise statistics, each calibrated against its own past, one score.

Per point:

1. residuals against several baselines side by side (recent median, same time of day, same time of
   week); the one with the smallest median absolute residual over the last ``selector_window`` points
   is used (a median, so the anomaly itself does not make the selector drop the model exposing it);
2. surprise statistics on that residual in robust σ: ``spike`` (the point itself), ``level`` (mean
   absolute residual over the last ``short`` points: a burst), ``shift`` (absolute mean of the signed
   residuals over the last ``long`` points: a small level shift or drift that single points hide) and
   ``variance`` (log ratio of the recent spread to the usual one: noise growing or vanishing) and
   ``coarse`` (the same residual one scale up: the mean of the last ``coarse`` values against the median of
   the ``window`` such means before it, every ``coarse`` points back, in the robust σ of ``scale_window``
   such residuals: a slow change that the point-level baselines absorb as they go); by default
   ``spike``, ``shift`` and ``coarse``;
3. each statistic divided by its own ``quantile`` over the last ``history`` points, so a ratio says how
   unusual this is *for this metric*; the largest ratio counts (0.5 of the score at ``fail_ratio``);
4. de-duplication: a non-zero score only when the ratio beats every one of the last ``cooldown``
   points, so a breach already reported is not reported again unless it gets worse; and once a ratio
   reached ``fail_ratio`` (a breach reported), for the next ``hold`` points only a ratio ``hold_factor``
   times as large scores: one report per breach, not one per point while it builds up.

The saved state is bounded by the settings (windows, histories and seasonal slots), all plain JSON.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, grade, severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals, robust_scale

Statistic = Literal["spike", "level", "shift", "variance", "coarse"]
DAY_S = 86400.0
WEEK_S = 7 * DAY_S


class EnsembleSettings(DetectorSettings):
    """Seasons tried side by side (seconds, null: none), statistics and their calibration, de-duplication."""

    type: Literal["ensemble"] = "ensemble"
    warmup: int = Field(default=100, ge=0, description="points learned from before any verdict but ok")
    seasons: tuple[float | None, ...] = Field(default=(None, DAY_S, WEEK_S), min_length=1)
    window: int = Field(default=48, ge=1, description="recent points whose median is the level")
    scale_window: int = Field(default=200, ge=5, description="recent residuals whose spread is σ")
    selector_window: int = Field(default=200, ge=2, description="residuals that rank the baselines")
    # spike + shift by default: ``level`` (a 10-point mean of |residual|) mostly repeats ``spike`` a few
    # points later and adds false alarms on noisy metrics (NAB subset: 66.7 with it, 68.7 without);
    # ``coarse`` added (branch nab19; chosen on the odd NAB files 64.9 -> 68.4, even files 74.5 -> 78.9)
    statistics: tuple[Statistic, ...] = Field(default=("spike", "shift", "coarse"), min_length=1)
    short: int = Field(default=10, ge=2, description="points of the level and variance statistics")
    long: int = Field(default=30, ge=2, description="points of the shift statistic")
    coarse: int = Field(default=30, ge=2, description="points averaged into one value of the coarse statistic")
    history: int = Field(default=3000, ge=10, description="past values of each statistic it is compared to")
    min_history: int = Field(default=100, ge=1, description="past values needed before any score")
    quantile: float = Field(default=0.99, gt=0, lt=1)
    cooldown: int = Field(default=100, ge=1, description="points a reported ratio must be beaten over")
    # one report per breach (NAB subset, odd files only: 64.7 -> 64.9 standard; even files 73.4 -> 74.5)
    hold: int = Field(default=30, ge=0, description="points after a reported breach that need a larger one")
    hold_factor: float = Field(default=2.0, ge=1.0, description="how much larger a ratio must be during the hold")
    warn_ratio: float = Field(default=1.45, gt=0)
    fail_ratio: float = Field(default=1.6, gt=0)

    @model_validator(mode="after")
    def _order(self) -> EnsembleSettings:
        if self.warn_ratio > self.fail_ratio:
            raise ValueError(t("house3.detector.order", low="warn_ratio", high="fail_ratio"))
        if self.min_history > self.history:
            raise ValueError(t("house3.detector.order", low="min_history", high="history"))
        return self


def _floats(values: Any, bound: int) -> deque[float]:
    return deque((float(v) for v in values), maxlen=bound)


class _Coarse:
    """The residual one scale up: the mean of the last ``points`` values against the median of the
    ``window`` means ending ``points``, 2·``points``, … points earlier, in the robust σ of the residuals
    ``points``, 2·``points``, … points earlier (``scale_window`` of them). Means every point, so there is
    no block boundary to wait for; kept per phase (point number mod ``points``), so each step reads only
    the ``window`` + ``scale_window`` values of its own phase.
    """

    def __init__(self, points: int, window: int, scale_window: int) -> None:
        self.points = points
        self._values: deque[float] = deque(maxlen=points)
        self._means = [deque[float](maxlen=window) for _ in range(points)]
        self._residuals = [deque[float](maxlen=scale_window) for _ in range(points)]
        self._counts = [0, 0]  # means and residuals so far: their phase is the count mod points
        self.z: float | None = None

    def _push(self, which: int, value: float) -> deque[float]:
        """Append ``value`` to its phase; the values of that phase before it (every ``points``-th back)."""
        phases = self._means if which == 0 else self._residuals
        held = phases[self._counts[which] % self.points]
        past = deque(held)
        held.append(value)
        self._counts[which] += 1
        return past

    def step(self, value: float) -> None:
        """Learn one raw value; :attr:`z` is the new coarse |residual| in σ (None while learning)."""
        self._values.append(value)
        self.z = None
        if len(self._values) < self.points:
            return
        mean = sum(self._values) / self.points
        past_means = self._push(0, mean)
        if not past_means:
            return
        residual = mean - float(np.median(np.fromiter(past_means, float, len(past_means))))
        past = self._push(1, residual)
        # a spread from a handful of residuals would turn ordinary noise into alarms (as in Residuals)
        if len(past) < 20:
            return
        scale = max(robust_scale(np.fromiter(past, float, len(past))), 1e-9 * (1.0 + abs(mean)))
        self.z = min(abs(residual) / scale, 1e6)

    def save(self) -> dict[str, Any]:
        return {
            "values": list(self._values),
            "means": [list(d) for d in self._means],
            "residuals": [list(d) for d in self._residuals],
            "counts": list(self._counts),
        }

    def load(self, data: dict[str, Any]) -> None:
        means, residuals = list(data["means"]), list(data["residuals"])
        if len(means) != self.points or len(residuals) != self.points:
            raise ValueError(t("nab19.coarse_points", points=self.points))
        self._values = _floats(data["values"], self.points)
        self._means = [_floats(d, self._means[0].maxlen or 1) for d in means]
        self._residuals = [_floats(d, self._residuals[0].maxlen or 1) for d in residuals]
        self._counts = [int(c) for c in data["counts"]]
        self.z = None


class Ensemble(Detector):
    """The default combination for numeric metrics (see the module docstring).

    >>> from andon.watch import build_detector
    >>> d = build_detector({"type": "ensemble", "seasons": [None]})
    >>> calm = [d.update(60 * i, 100.0 + (i % 5)) for i in range(300)]
    >>> d.update(18000, 160.0).state
    'fail'
    """

    type_name: ClassVar[str] = "ensemble"
    Settings: ClassVar[type[DetectorSettings]] = EnsembleSettings
    settings: EnsembleSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        s = self.settings
        self._models = [
            Residuals(BaselineSettings(window=s.window, season=season), s.scale_window) for season in s.seasons
        ]
        self._errors: list[deque[float]] = [deque(maxlen=s.selector_window) for _ in s.seasons]
        self._last: deque[float] = deque(maxlen=max(s.short, s.long))
        self._past: dict[str, deque[float]] = {name: deque(maxlen=s.history) for name in s.statistics}
        self._recent: deque[float] = deque(maxlen=s.cooldown)
        self._coarse = _Coarse(s.coarse, s.window, s.scale_window)
        # points since the last reported breach and its ratio (the hold); None: no breach reported yet
        self._since: int | None = None
        self._reported = 0.0

    def _held(self, ratio: float) -> bool:
        """Whether a louder ratio is still part of the breach reported less than ``hold`` points ago."""
        s = self.settings
        if self._since is None or self._since > s.hold:
            return False
        return ratio < s.hold_factor * self._reported

    def _best(self, steps: list[tuple[float, float] | None]) -> tuple[float, float] | None:
        """The step of the model with the smallest recent median absolute residual (the first while unsure)."""
        ranked = []
        for i, step in enumerate(steps):
            if step is None:
                continue
            errors = self._errors[i]
            known = len(errors) >= (errors.maxlen or 1) // 2
            median = float(np.median(np.fromiter(errors, float, len(errors)))) if known else math.inf
            ranked.append((median, i))
            errors.append(abs(step[0]))
        return steps[min(ranked)[1]] if ranked else None

    def _statistic(self, name: str) -> float | None:
        if name == "coarse":
            return self._coarse.z
        if name == "spike":
            return abs(self._last[-1])
        if name == "shift":
            tail = list(self._last)[-self.settings.long :]
            return abs(sum(tail) / len(tail))
        last = list(self._last)[-self.settings.short :]
        if name == "level":
            return sum(abs(u) for u in last) / len(last)
        spread = float(np.std(last)) if len(last) >= 3 else 1.0
        # the residuals are in σ already, so a usual spread is near 1; a floor keeps a flat line finite
        return abs(math.log(max(spread, 1e-3)))

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        step = self._best([m.step(ts, float(value)) for m in self._models])
        if "coarse" in s.statistics:
            self._coarse.step(float(value))
        if step is None:
            return "ok", 0.0, t("watch.learning")
        residual, scale = step
        self._last.append(max(-1e6, min(1e6, residual / scale)))
        ratio, which = 0.0, s.statistics[0]
        for name in s.statistics:
            current = self._statistic(name)
            if current is None:
                continue
            past = self._past[name]
            if len(past) >= s.min_history:
                reference = float(np.quantile(np.fromiter(past, float, len(past)), s.quantile))
                candidate = current / max(reference, 1e-9)
                if candidate > ratio:
                    ratio, which = candidate, name
            past.append(current)
        louder = not self._recent or ratio > max(self._recent)
        self._recent.append(ratio)
        if self._since is not None:
            self._since += 1
        if louder and self._held(ratio):
            louder = False
        elif louder and ratio >= s.fail_ratio:
            self._since, self._reported = 0, ratio
        statistic = t(f"nab.statistic.{which}", points=s.coarse)
        reason = t("nab.ensemble", statistic=statistic, ratio=ratio, limit=s.fail_ratio)
        score = severity(ratio / s.fail_ratio) if louder else 0.0
        return grade(ratio / s.fail_ratio, s.warn_ratio / s.fail_ratio), score, reason

    def _save(self) -> dict[str, Any]:
        return {
            "models": [m.save() for m in self._models],
            "errors": [list(e) for e in self._errors],
            "last": list(self._last),
            "past": {name: list(p) for name, p in self._past.items()},
            "recent": list(self._recent),
            "since": self._since,
            "reported": self._reported,
            "coarse": self._coarse.save(),
        }

    def _load(self, core: dict[str, Any]) -> None:
        s = self.settings
        models, errors = list(core["models"]), list(core["errors"])
        if len(models) != len(self._models) or len(errors) != len(self._errors):
            raise ValueError(t("house3.detector.seasons"))
        for model, data in zip(self._models, models, strict=True):
            model.load(data)
        self._errors = [_floats(e, s.selector_window) for e in errors]
        self._last = _floats(core["last"], max(s.short, s.long))
        # a statistic added since the state was saved starts with no history of its own
        self._past = {name: _floats(core["past"].get(name, ()), s.history) for name in s.statistics}
        self._recent = _floats(core["recent"], s.cooldown)
        # states saved before the hold existed have no breach on record
        since = core.get("since")
        self._since = None if since is None else int(since)
        self._reported = float(core.get("reported", 0.0))
        self._coarse = _Coarse(s.coarse, s.window, s.scale_window)
        if "coarse" in core and "coarse" in s.statistics:
            self._coarse.load(core["coarse"])
