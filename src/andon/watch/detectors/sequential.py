"""A sequential test for label counts: a Bernoulli CUSUM on the share (e.g. rejects / calls), call by call.

A fixed-window share test throws away every window that was not quite enough on its own; the CUSUM keeps
the evidence (the log-likelihood ratio of "shifted" against "baseline", summed over the calls) until it is
either clearly nothing (the sum falls back to 0) or clearly a shift (the sum crosses ``h``). By Lorden's
theorem no test that raises false alarms as rarely detects a shift of that size on fewer calls.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar, Literal

from pydantic import Field

from andon.messages import t
from andon.watch.detectors.base import Detector, DetectorSettings, Proportion, State, severity

SECONDS_PER_DAY = 86_400.0
_EDGE = 1e-4  # keeps the shifted share inside (0, 1), where the log-likelihood ratio is finite


def bernoulli_llr(base: float, shifted: float) -> tuple[float, float]:
    """Log-likelihood ratio (shifted vs base) of one matching call and of one other call."""
    return math.log(shifted / base), math.log((1.0 - shifted) / (1.0 - base))


def cusum_limit(arl0_trials: float, drift: float) -> float:
    """The CUSUM limit ``h`` whose in-control average run length is ``arl0_trials`` (Siegmund's approximation).

    For a CUSUM of log-likelihood ratios, ARL0 ≈ (e^h − h − 1) / |drift|, where ``drift`` is the mean ratio
    per trial under the baseline (minus the Kullback-Leibler divergence); solved here by fixed-point iteration.
    """
    target = max(arl0_trials, 1.0) * abs(drift)
    h = math.log(target + 1.0)
    for _ in range(20):
        h = math.log(target + h + 1.0)
    return h


class ShareCusumSettings(DetectorSettings):
    """The shift worth catching fast (``shift``, absolute) and the false-alarm budget (``arl0_days``).

    ``arl0_days`` is the mean time between false alarms on stable traffic. The default, 30 days per monitor,
    leaves room for a few monitors per feature under 0.1 false pulls a day; the limit ``h`` follows from it
    and from the traffic the detector has seen (calls per day), so quiet and busy features get the same
    false-alarm rate. The baseline share is pooled over the last ``baseline_windows`` points (older than
    ``guard`` points, and none learned while alerting, so a shift does not teach itself as normal), and
    taken ``baseline_margin_se`` standard errors towards the alarm side, so a baseline estimated on few calls
    errs towards fewer false alarms. Siegmund's approximation errs the same way for batched counts: on a
    stable 12 % share at 30-90 calls a minute, 0 alarms in 1,000 simulated days (2 in 300 without the margin).
    The windows a monitor feeds must not overlap (window == interval): every call counts once.
    """

    type: Literal["share-cusum"] = "share-cusum"
    warmup: int = Field(default=0, ge=0, description="points learned from before any verdict but ok")
    shift: float = Field(default=0.1, gt=0, lt=1, description="the share change to detect fastest (absolute)")
    arl0_days: float = Field(default=30.0, gt=0, description="mean days between false alarms on stable traffic")
    warn_fraction: float = Field(default=0.75, gt=0, le=1, description="warn at this fraction of the limit")
    baseline_windows: int = Field(default=120, ge=2, description="past points pooled into the baseline share")
    guard: int = Field(default=5, ge=0, description="the newest points kept out of the baseline")
    min_baseline_trials: int = Field(default=1000, ge=1)
    baseline_margin_se: float = Field(default=1.0, ge=0, description="baseline moved this many SE to the alarm side")
    direction: Literal["up", "down", "both"] = "up"


class ShareCusum(Detector):
    """Fail when the Bernoulli CUSUM of a share crosses the limit set by ``arl0_days``.

    >>> from andon.watch.detectors.base import Proportion
    >>> d = ShareCusum(ShareCusumSettings(min_baseline_trials=600, guard=0))
    >>> calm = [d.update(60 * i, Proportion(7 + i % 2, 60)) for i in range(30)]
    >>> calm[-1].state, [d.update(60 * (30 + i), Proportion(18, 60)).state for i in range(3)][-1]
    ('ok', 'fail')
    """

    type_name: ClassVar[str] = "share-cusum"
    Settings: ClassVar[type[DetectorSettings]] = ShareCusumSettings
    takes_counts: ClassVar[bool] = True
    settings: ShareCusumSettings

    def __init__(self, settings: DetectorSettings) -> None:
        super().__init__(settings)
        self._past: deque[tuple[float, int, int]] = deque(maxlen=self.settings.baseline_windows)
        self._pending: deque[tuple[float, int, int]] = deque()
        self._high = 0.0
        self._low = 0.0

    def _baseline(self) -> tuple[float, float, float] | None:
        """Pooled share, its standard error, and trials per day; None while too few trials are pooled."""
        trials = sum(n for _, _, n in self._past)
        if trials < self.settings.min_baseline_trials or len(self._past) < 2:
            return None
        share = sum(k for _, k, _ in self._past) / trials
        span = self._past[-1][0] - self._past[0][0]
        # n points cover n spacings of time: the first point's own window is before its timestamp
        per_second = trials / (span * len(self._past) / (len(self._past) - 1)) if span > 0 else 0.0
        per_day = per_second * SECONDS_PER_DAY if per_second > 0 else float(trials)
        return share, math.sqrt(max(share * (1.0 - share), 1e-12) / trials), per_day

    def _side(self, stat: float, k: int, n: int, base: float, shifted: float, arl0: float) -> tuple[float, float]:
        """One one-sided CUSUM step: the new statistic and its limit."""
        match, other = bernoulli_llr(base, shifted)
        drift = base * match + (1.0 - base) * other  # mean ratio per trial under the baseline (negative)
        limit = cusum_limit(arl0, drift)
        return min(2.0 * limit, max(0.0, stat + k * match + (n - k) * other)), limit

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        assert isinstance(value, Proportion)
        baseline = self._baseline()
        if baseline is None:
            self._learn(ts, value, alerting=False)
            return "ok", 0.0, t("watch.learning")
        share, se, per_day = baseline
        sides = 2.0 if s.direction == "both" else 1.0  # two one-sided tests share the false-alarm budget
        arl0 = s.arl0_days * per_day * sides
        k, n = value.successes, value.trials
        ratio, limit = 0.0, math.inf
        if s.direction in ("up", "both"):
            base = min(1.0 - 2 * _EDGE, max(_EDGE, share + s.baseline_margin_se * se))
            self._high, limit = self._side(self._high, k, n, base, min(1.0 - _EDGE, base + s.shift), arl0)
            ratio = self._high / limit
        if s.direction in ("down", "both"):
            base = max(2 * _EDGE, min(1.0 - _EDGE, share - s.baseline_margin_se * se))
            self._low, low_limit = self._side(self._low, k, n, base, max(_EDGE, base - s.shift), arl0)
            if self._low / low_limit > ratio:
                ratio, limit = self._low / low_limit, low_limit
        state: State = "fail" if ratio >= 1.0 else "warn" if ratio >= s.warn_fraction else "ok"
        self._learn(ts, value, alerting=state == "fail")
        reason = t("cord.share_cusum", share=value.share, trials=n, base=share, stat=ratio * limit, limit=limit)
        return state, severity(ratio), reason

    def _learn(self, ts: float, value: Proportion, *, alerting: bool) -> None:
        """Queue the point for the baseline; one older than ``guard`` points joins it unless it came while alerting."""
        self._pending.append((ts, value.successes, value.trials) if not alerting else (ts, -1, -1))
        while len(self._pending) > self.settings.guard:
            point = self._pending.popleft()
            if point[1] >= 0:
                self._past.append(point)

    def _save(self) -> dict[str, Any]:
        return {
            "past": [list(p) for p in self._past],
            "pending": [list(p) for p in self._pending],
            "high": self._high,
            "low": self._low,
        }

    def _load(self, core: dict[str, Any]) -> None:
        def points(rows: Any) -> list[tuple[float, int, int]]:
            return [(float(ts), int(k), int(n)) for ts, k, n in rows]

        self._past = deque(points(core["past"]), maxlen=self.settings.baseline_windows)
        self._pending = deque(points(core["pending"]))
        self._high = float(core["high"])
        self._low = float(core["low"])
