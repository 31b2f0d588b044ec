"""Control charts on standardised residuals: EWMA (small persistent shifts) and two-sided CUSUM."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, grade, severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals
from andon.watch.detectors.robust import Direction, directed

# A single wild point moves a chart by at most this many σ, so one outlier cannot hold it in alarm.
_CLIP = 6.0


class _ChartSettings(DetectorSettings):
    baseline: BaselineSettings = BaselineSettings()
    scale_window: int = Field(default=200, ge=5, description="recent residuals whose spread is σ")
    direction: Direction = "both"


class EwmaSettings(_ChartSettings):
    """EWMA weight ``lam``; limits in σ of the EWMA statistic (``fail_l`` = the classic L)."""

    type: Literal["ewma"] = "ewma"
    lam: float = Field(default=0.2, gt=0, le=1)
    # L=3 (the textbook value) false-alarms about once in 500 points: too often for a monitor
    warn_l: float = Field(default=3.0, gt=0)
    fail_l: float = Field(default=4.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> EwmaSettings:
        if self.warn_l > self.fail_l:
            raise ValueError(t("house3.detector.order", low="warn_l", high="fail_l"))
        return self


class CusumSettings(_ChartSettings):
    """Slack ``k`` and decision interval ``h`` in σ; h=8, k=0.5 false-alarms about once in 10⁴ points."""

    type: Literal["cusum"] = "cusum"
    k: float = Field(default=0.5, ge=0)
    warn_h: float = Field(default=5.0, gt=0)
    fail_h: float = Field(default=8.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> CusumSettings:
        if self.warn_h > self.fail_h:
            raise ValueError(t("house3.detector.order", low="warn_h", high="fail_h"))
        return self


class _Chart(Detector):
    settings: _ChartSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._res = Residuals(self.settings.baseline, self.settings.scale_window)

    def _standardised(self, ts: float, value: float) -> float | None:
        step = self._res.step(ts, value)
        if step is None:
            return None
        residual, scale = step
        return max(-_CLIP, min(_CLIP, residual / scale))


class Ewma(_Chart):
    """Exponentially weighted moving average of residuals, in σ; fails past ``fail_l`` of its own σ.

    >>> from andon.watch.detectors.control import Ewma, EwmaSettings
    >>> d = Ewma(EwmaSettings(warmup=50, baseline={"window": 50, "season": None}))
    >>> calm = [d.update(i, float(i % 7)) for i in range(100)]
    >>> [d.update(100 + i, 7.0 + i % 7).state for i in range(10)][-1]
    'fail'
    """

    type_name: ClassVar[str] = "ewma"
    Settings: ClassVar[type[DetectorSettings]] = EwmaSettings
    settings: EwmaSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._ewma = 0.0

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        u = self._standardised(ts, float(value))
        if u is None:
            return "ok", 0.0, t("watch.learning")
        self._ewma = s.lam * u + (1.0 - s.lam) * self._ewma
        sigma = math.sqrt(s.lam / (2.0 - s.lam))
        ratio = directed(self._ewma, s.direction) / (s.fail_l * sigma)
        return (
            grade(ratio, s.warn_l / s.fail_l),
            severity(ratio),
            t("watch.ewma", stat=self._ewma / sigma, limit=s.fail_l),
        )

    def _save(self) -> dict[str, Any]:
        return {"res": self._res.save(), "ewma": self._ewma}

    def _load(self, core: dict[str, Any]) -> None:
        self._res.load(core["res"])
        self._ewma = float(core["ewma"])


class Cusum(_Chart):
    """Two-sided tabular CUSUM of residuals in σ; not reset on alarm, it decays once the baseline adapts.

    >>> from andon.watch.detectors.control import Cusum, CusumSettings
    >>> d = Cusum(CusumSettings(warmup=50, baseline={"window": 50, "season": None}))
    >>> calm = [d.update(i, float(i % 7)) for i in range(100)]
    >>> [d.update(100 + i, 5.0 + i % 7).state for i in range(10)][-1]
    'fail'
    """

    type_name: ClassVar[str] = "cusum"
    Settings: ClassVar[type[DetectorSettings]] = CusumSettings
    settings: CusumSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._high = 0.0
        self._low = 0.0

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        u = self._standardised(ts, float(value))
        if u is None:
            return "ok", 0.0, t("watch.learning")
        self._high = max(0.0, self._high + u - s.k)
        self._low = max(0.0, self._low - u - s.k)
        stat = {"up": self._high, "down": self._low, "both": max(self._high, self._low)}[s.direction]
        ratio = stat / s.fail_h
        return grade(ratio, s.warn_h / s.fail_h), severity(ratio), t("watch.cusum", stat=stat, limit=s.fail_h)

    def _save(self) -> dict[str, Any]:
        return {"res": self._res.save(), "high": self._high, "low": self._low}

    def _load(self, core: dict[str, Any]) -> None:
        self._res.load(core["res"])
        self._high = float(core["high"])
        self._low = float(core["low"])
