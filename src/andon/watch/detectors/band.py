"""A prediction band around the median baseline; an alert needs several breaches in a row."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, grade, severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals
from andon.watch.detectors.robust import Direction, directed


class BandSettings(DetectorSettings):
    """Band half-width ``width`` in robust σ; ``breaches`` in a row fail, ``warn_breaches`` in a row warn."""

    type: Literal["band"] = "band"
    baseline: BaselineSettings = BaselineSettings()
    scale_window: int = Field(default=200, ge=5)
    width: float = Field(default=3.0, gt=0)
    breaches: int = Field(default=3, ge=1)
    warn_breaches: int = Field(default=2, ge=1)
    direction: Direction = "both"

    @model_validator(mode="after")
    def _order(self) -> BandSettings:
        if self.warn_breaches > self.breaches:
            raise ValueError(t("house3.detector.order", low="warn_breaches", high="breaches"))
        return self


class Band(Detector):
    """Fail after ``breaches`` consecutive points outside ``expected ± width·σ``; one spike alone does not.

    >>> from andon.watch.detectors.band import Band, BandSettings
    >>> d = Band(BandSettings(warmup=30, baseline={"season": None}))
    >>> calm = [d.update(i, float(i % 5)) for i in range(60)]
    >>> [d.update(60 + i, 50.0).state for i in range(3)]
    ['ok', 'warn', 'fail']
    """

    type_name: ClassVar[str] = "band"
    Settings: ClassVar[type[DetectorSettings]] = BandSettings
    settings: BandSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._res = Residuals(self.settings.baseline, self.settings.scale_window)
        self._run = 0

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        step = self._res.step(ts, float(value))
        if step is None:
            return "ok", 0.0, t("watch.learning")
        residual, scale = step
        outside = directed(residual / scale, s.direction) > s.width
        self._run = self._run + 1 if outside else 0
        ratio = self._run / s.breaches
        expected = float(value) - residual
        self._band = (expected - s.width * scale, expected + s.width * scale)
        reason = t("watch.band", run=self._run, need=s.breaches, low=self._band[0], high=self._band[1])
        return grade(ratio, s.warn_breaches / s.breaches), severity(ratio), reason

    def _save(self) -> dict[str, Any]:
        return {"res": self._res.save(), "run": self._run}

    def _load(self, core: dict[str, Any]) -> None:
        self._res.load(core["res"])
        self._run = int(core["run"])
