"""Robust z-score: how many robust σ (median/MAD of recent residuals) a value lies from its seasonal baseline."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, grade, severity
from andon.watch.detectors.baseline import BaselineSettings, Residuals

Direction = Literal["both", "up", "down"]


def directed(z: float, direction: Direction) -> float:
    """The part of a signed deviation that counts for ``direction`` (never negative)."""
    if direction == "up":
        return max(0.0, z)
    if direction == "down":
        return max(0.0, -z)
    return abs(z)


class RobustZSettings(DetectorSettings):
    """Limits in robust σ; the baseline is daily-seasonal by default (recent median until two days are seen)."""

    type: Literal["robust-z"] = "robust-z"
    baseline: BaselineSettings = BaselineSettings()
    scale_window: int = Field(default=200, ge=5, description="recent residuals whose spread is σ")
    warn_z: float = Field(default=4.0, gt=0)
    fail_z: float = Field(default=6.0, gt=0)
    direction: Direction = "both"

    @model_validator(mode="after")
    def _order(self) -> RobustZSettings:
        if self.warn_z > self.fail_z:
            raise ValueError(t("house3.detector.order", low="warn_z", high="fail_z"))
        return self


class RobustZ(Detector):
    """Fail when a value is ``fail_z`` robust σ away from what its baseline expects.

    >>> from andon.watch.detectors.robust import RobustZ, RobustZSettings
    >>> d = RobustZ(RobustZSettings(warmup=20, baseline={"window": 20, "season": None}))
    >>> calm = [d.update(60 * i, 100.0 + (i % 5)) for i in range(40)]
    >>> d.update(2400, 160.0).state
    'fail'
    """

    type_name: ClassVar[str] = "robust-z"
    Settings: ClassVar[type[DetectorSettings]] = RobustZSettings
    settings: RobustZSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._res = Residuals(self.settings.baseline, self.settings.scale_window)

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        step = self._res.step(ts, float(value))
        if step is None:
            return "ok", 0.0, t("watch.learning")
        residual, scale = step
        z = residual / scale
        expected = float(value) - residual
        self._band = (expected - s.fail_z * scale, expected + s.fail_z * scale)  # where a value does not fail
        ratio = directed(z, s.direction) / s.fail_z
        return grade(ratio, s.warn_z / s.fail_z), severity(ratio), t("watch.robust", z=z, limit=s.fail_z)

    def _save(self) -> dict[str, Any]:
        return self._res.save()

    def _load(self, core: dict[str, Any]) -> None:
        self._res.load(core)
