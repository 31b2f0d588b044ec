"""river's change detectors (ADWIN, Page-Hinkley, KSWIN) on standardised, de-seasonalised residuals.

Saved state: river's objects are not pickled (a store must survive upgrades of river). Each wrapper keeps
the residuals fed to its river detector since that detector was built, at most ``2·replay`` of them: at that
bound it rebuilds the detector from the last ``replay`` residuals, and it starts afresh after a detected
change (river resets itself then). ``restore`` rebuilds by replaying that saved window, so future verdicts
are identical to an uninterrupted run.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import Field

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals

# Residuals beyond this many σ are clipped: a drift detector should see shifts, not single wild points.
_CLIP = 6.0


class _DriftSettings(DetectorSettings):
    baseline: BaselineSettings = BaselineSettings()
    scale_window: int = Field(default=200, ge=5)
    replay: int = Field(default=500, ge=10, description="residuals kept to rebuild river's detector")


class AdwinSettings(_DriftSettings):
    """river ``ADWIN(delta, clock, grace_period)``."""

    type: Literal["adwin"] = "adwin"
    delta: float = Field(default=0.002, gt=0, lt=1)
    clock: int = Field(default=32, ge=1)
    grace_period: int = Field(default=10, ge=1)


class PageHinkleySettings(_DriftSettings):
    """river ``PageHinkley(threshold, delta, alpha, min_instances)``, in σ of the residuals."""

    type: Literal["page-hinkley"] = "page-hinkley"
    threshold: float = Field(default=20.0, gt=0)
    delta: float = Field(default=0.5, ge=0)
    alpha: float = Field(default=0.9999, gt=0, le=1)
    min_instances: int = Field(default=30, ge=1)


class KswinSettings(_DriftSettings):
    """river ``KSWIN(alpha, window_size, stat_size, seed)``; the seed keeps verdicts reproducible."""

    type: Literal["kswin"] = "kswin"
    alpha: float = Field(default=0.0001, gt=0, lt=1)
    window_size: int = Field(default=200, ge=10)
    stat_size: int = Field(default=50, ge=5)
    seed: int = 42


class _RiverDrift(Detector):
    settings: _DriftSettings
    method: ClassVar[str]

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._res = Residuals(self.settings.baseline, self.settings.scale_window)
        self._fed: list[float] = []
        self._river = self._build()

    @abstractmethod
    def _build(self) -> Any:
        """A fresh river detector for these settings."""

    def _statistic(self) -> float:
        """How close the river detector is to signalling, as a fraction of its limit (0 when unknown)."""
        return 0.0

    def _rebuild(self, values: list[float]) -> None:
        self._river = self._build()
        for v in values:
            self._river.update(v)
        self._fed = list(values)

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        step = self._res.step(ts, float(value))
        if step is None:
            return "ok", 0.0, t("watch.learning")
        residual, scale = step
        u = max(-_CLIP, min(_CLIP, residual / scale))
        self._river.update(u)
        self._fed.append(u)
        if self._river.drift_detected:
            # river resets itself on its next update; a fresh detector with no history is the same thing
            self._rebuild([])
            return "fail", severity(1.0), t("watch.drift", method=self.method)
        ratio = self._statistic()
        if len(self._fed) >= 2 * self.settings.replay:
            self._rebuild(self._fed[-self.settings.replay :])
        return "ok", severity(min(ratio, 0.99)), t("watch.no_drift", method=self.method)

    def _save(self) -> dict[str, Any]:
        return {"res": self._res.save(), "fed": list(self._fed)}

    def _load(self, core: dict[str, Any]) -> None:
        self._res.load(core["res"])
        self._rebuild([float(v) for v in core["fed"]])


class Adwin(_RiverDrift):
    """ADWIN: adaptive windowing, signals when two sub-windows' means differ (``delta`` confidence)."""

    type_name: ClassVar[str] = "adwin"
    Settings: ClassVar[type[DetectorSettings]] = AdwinSettings
    method: ClassVar[str] = "ADWIN"
    settings: AdwinSettings

    def _build(self) -> Any:
        from river.drift import ADWIN  # imported here: river takes a second to import

        s = self.settings
        return ADWIN(delta=s.delta, clock=s.clock, grace_period=s.grace_period)  # type: ignore[no-untyped-call]


class PageHinkley(_RiverDrift):
    """Page-Hinkley: cumulative deviation from the running mean, signals past ``threshold`` σ.

    >>> from andon.watch.detectors.drift import PageHinkley, PageHinkleySettings
    >>> d = PageHinkley(PageHinkleySettings(warmup=50, baseline={"season": None, "window": 200}))
    >>> calm = [d.update(i, float(i % 7)) for i in range(100)]
    >>> any(d.update(100 + i, 8.0 + i % 7).state == "fail" for i in range(40))
    True
    """

    type_name: ClassVar[str] = "page-hinkley"
    Settings: ClassVar[type[DetectorSettings]] = PageHinkleySettings
    method: ClassVar[str] = "Page-Hinkley"
    settings: PageHinkleySettings

    def _build(self) -> Any:
        from river.drift import PageHinkley as RiverPageHinkley

        s = self.settings
        return RiverPageHinkley(
            min_instances=s.min_instances, delta=s.delta, threshold=s.threshold, alpha=s.alpha, mode="both"
        )

    def _statistic(self) -> float:
        ph = self._river
        try:  # river's running sums are private: a score nicety only, never a reason to break
            if ph._x_mean.n < self.settings.min_instances:
                return 0.0
            up = ph._sum_increase - ph._min_increase
            down = ph._max_decrease - ph._sum_decrease
        except AttributeError:
            return 0.0
        return float(max(up, down, 0.0)) / self.settings.threshold


class Kswin(_RiverDrift):
    """KSWIN: Kolmogorov-Smirnov test between the newest residuals and a sample of older ones."""

    type_name: ClassVar[str] = "kswin"
    Settings: ClassVar[type[DetectorSettings]] = KswinSettings
    method: ClassVar[str] = "KSWIN"
    settings: KswinSettings

    def _build(self) -> Any:
        from river.drift import KSWIN

        s = self.settings
        return KSWIN(alpha=s.alpha, window_size=s.window_size, stat_size=s.stat_size, seed=s.seed)

    def _statistic(self) -> float:
        p = float(getattr(self._river, "p_value", 0.0) or 0.0)
        if not 0.0 < p < 1.0:
            return 0.0
        return math.log(p) / math.log(self.settings.alpha)
