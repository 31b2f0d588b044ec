"""Static thresholds: fixed limits above and/or below, no learning."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, State, severity


class ThresholdSettings(DetectorSettings):
    """``fail_above`` / ``fail_below`` (and optional ``warn_…``): at least one limit."""

    type: Literal["threshold"] = "threshold"
    warmup: int = Field(default=0, ge=0)
    warn_above: float | None = None
    fail_above: float | None = None
    warn_below: float | None = None
    fail_below: float | None = None

    @model_validator(mode="after")
    def _limits(self) -> ThresholdSettings:
        if self.fail_above is None and self.fail_below is None:
            raise ValueError(t("house3.detector.threshold_limits"))
        if self.warn_above is not None and (self.fail_above is None or self.warn_above >= self.fail_above):
            raise ValueError(t("house3.detector.warn_above"))
        if self.warn_below is not None and (self.fail_below is None or self.warn_below <= self.fail_below):
            raise ValueError(t("house3.detector.warn_below"))
        return self


def _ratio(excess: float, fail: float, warn: float | None) -> float:
    """0 at the warn level (or at a unit below the fail level without one), 1 at the fail level."""
    start = warn if warn is not None else fail - max(1.0, abs(fail))
    return max(0.0, (excess - start) / (fail - start))


class StaticThreshold(Detector):
    """Fail (or warn) when a value crosses a fixed limit.

    >>> from andon.watch.detectors.threshold import StaticThreshold, ThresholdSettings
    >>> d = StaticThreshold(ThresholdSettings(fail_above=0.3, warn_above=0.2))
    >>> [d.update(i, x).state for i, x in enumerate([0.1, 0.25, 0.4])]
    ['ok', 'warn', 'fail']
    """

    type_name: ClassVar[str] = "threshold"
    Settings: ClassVar[type[DetectorSettings]] = ThresholdSettings
    settings: ThresholdSettings

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s, x = self.settings, float(value)
        score = 0.0
        if s.fail_above is not None:
            score = severity(_ratio(x, s.fail_above, s.warn_above))
        if s.fail_below is not None:
            low = None if s.warn_below is None else -s.warn_below
            score = max(score, severity(_ratio(-x, -s.fail_below, low)))
        checks: tuple[tuple[State, float | None, bool], ...] = (
            ("fail", s.fail_above, True),
            ("fail", s.fail_below, False),
            ("warn", s.warn_above, True),
            ("warn", s.warn_below, False),
        )
        for state, limit, above in checks:
            if limit is not None and (x >= limit if above else x <= limit):
                return state, score, t("watch.above" if above else "watch.below", value=x, limit=limit)
        return "ok", score, t("watch.within", value=x)

    def _save(self) -> dict[str, Any]:
        return {}

    def _load(self, core: dict[str, Any]) -> None:
        return None
