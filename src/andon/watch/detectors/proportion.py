"""A share test for label counts: is this window's share (e.g. rejects / calls) out of line with the baseline?

The p-value is the exact binomial tail of this window's count under the baseline share, so 30 % rejects
of 400 calls against a 12 % baseline fails, while 3 of 8 does not: few calls are weak evidence. Only windows
judged ok join the baseline, so a fault that lasts hours keeps failing instead of becoming the new normal.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, Proportion, State, grade, severity


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), summed exactly in log space (1.0 when k is at or below the mean)."""
    if k <= 0 or k <= n * p:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    log_nf = math.lgamma(n + 1)
    total = 0.0
    for i in range(k, n + 1):
        # past the mean the terms only shrink, so stop once they no longer change the sum
        term = math.exp(log_nf - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


class ProportionSettings(DetectorSettings):
    """One-sided by default (``up``: the share rising is the problem); p-value limits and a minimum change."""

    type: Literal["proportion"] = "proportion"
    warmup: int = Field(default=3, ge=0, description="windows learned from before any verdict but ok")
    baseline_windows: int = Field(default=24, ge=1, description="past windows pooled into the baseline share")
    min_baseline_trials: int = Field(default=100, ge=1)
    warn_p: float = Field(default=1e-3, gt=0, lt=1)
    fail_p: float = Field(default=1e-5, gt=0, lt=1)
    min_change: float = Field(default=0.02, ge=0, le=1, description="smallest share change worth an alert")
    direction: Literal["up", "down", "both"] = "up"

    @model_validator(mode="after")
    def _order(self) -> ProportionSettings:
        if self.fail_p > self.warn_p:
            raise ValueError(t("house3.detector.order", low="fail_p", high="warn_p"))
        return self


class ProportionShift(Detector):
    """Fail when a window's share is significantly (``fail_p``) and materially (``min_change``) off the baseline.

    >>> from andon.watch.detectors.base import Proportion
    >>> from andon.watch.detectors.proportion import ProportionSettings, ProportionShift
    >>> d = ProportionShift(ProportionSettings())
    >>> calm = [d.update(i, Proportion(48, 400)) for i in range(10)]
    >>> d.update(10, Proportion(3, 8)).state, d.update(11, Proportion(120, 400)).state
    ('ok', 'fail')
    """

    type_name: ClassVar[str] = "proportion"
    Settings: ClassVar[type[DetectorSettings]] = ProportionSettings
    takes_counts: ClassVar[bool] = True
    settings: ProportionSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._past: deque[tuple[int, int]] = deque(maxlen=self.settings.baseline_windows)

    def _p_value(self, k: int, n: int, base: float) -> float:
        up = binomial_tail(k, n, base)
        down = binomial_tail(n - k, n, 1.0 - base)
        if self.settings.direction == "up":
            return up
        if self.settings.direction == "down":
            return down
        return min(1.0, 2.0 * min(up, down))

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        assert isinstance(value, Proportion)
        hits = sum(k for k, _ in self._past)
        trials = sum(n for _, n in self._past)
        if trials < s.min_baseline_trials:
            self._past.append((value.successes, value.trials))
            return "ok", 0.0, t("watch.learning")
        base = hits / trials
        p = self._p_value(value.successes, value.trials, base)
        ratio = math.log(max(p, 1e-300)) / math.log(s.fail_p)
        change = {"up": value.share - base, "down": base - value.share, "both": abs(value.share - base)}[s.direction]
        state = grade(ratio, math.log(s.warn_p) / math.log(s.fail_p)) if change >= s.min_change else "ok"
        if state == "ok":
            # A window judged warn or fail stays out of the baseline: a long fault must not teach itself as normal.
            self._past.append((value.successes, value.trials))
        reason = t("watch.proportion", share=value.share, trials=value.trials, base=base, p=p)
        return state, severity(ratio), reason

    def _save(self) -> dict[str, Any]:
        return {"past": [[k, n] for k, n in self._past]}

    def _load(self, core: dict[str, Any]) -> None:
        self._past = deque(((int(k), int(n)) for k, n in core["past"]), maxlen=self.settings.baseline_windows)
