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
from andon.watch.detectors.arl import cusum_limit
from andon.watch.detectors.base import Detector, DetectorSettings, Proportion, State, severity

SECONDS_PER_DAY = 86_400.0
_EDGE = 1e-4  # keeps the shifted share inside (0, 1), where the log-likelihood ratio is finite
_SHARE_STEP = 1e-3  # the reference share is rounded to this, so its limit is computed once and cached


def bernoulli_llr(base: float, shifted: float) -> tuple[float, float]:
    """Log-likelihood ratio (shifted vs base) of one matching call and of one other call."""
    return math.log(shifted / base), math.log((1.0 - shifted) / (1.0 - base))


def _grid(value: float, step: float) -> float:
    """``value`` on a logarithmic grid of relative ``step`` (limits are cached per grid point)."""
    return math.exp(round(math.log(value) / step) * step)


def share_limit(run: float, base: float, shifted: float, calls: float) -> float:
    """The limit for an in-control run of ``run`` points of ``calls`` calls each at the share ``base``."""
    match, other = bernoulli_llr(base, shifted)
    return cusum_limit(_grid(max(run, 1.0), 0.02), match, other, _grid(max(calls, 1e-3), 0.05), base)


def _rounded(share: float) -> float:
    return min(1.0 - 2 * _EDGE, max(2 * _EDGE, round(share / _SHARE_STEP) * _SHARE_STEP))


class ShareCusumSettings(DetectorSettings):
    """The shift worth catching fast (``shift``, absolute) and the false-alarm budget (``arl0_days``).

    ``arl0_days`` is the mean time between false alarms on stable traffic. The default, 30 days per monitor,
    leaves room for a few monitors per feature under 0.1 false pulls a day; the limit ``h`` follows from it
    and from the traffic the detector has seen (calls per day), so quiet and busy features get the same
    false-alarm rate. The baseline share is pooled over the last ``baseline_windows`` points (older than
    ``guard`` points, and none learned while alerting, so a shift does not teach itself as normal), and
    taken ``baseline_margin_se`` standard errors towards the alarm side, so a baseline estimated on few calls
    errs towards fewer false alarms. The limit is the one whose in-control run length, computed exactly for
    Poisson counts per point (``watch.detectors.arl``; Siegmund's diffusion formula, used before, gave 5-17
    times the target on per-minute counts), is ``arl0_days`` at the reference share and the calls per point
    seen. The windows a monitor feeds must not overlap (window == interval): every call counts once.
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

    def _baseline(self) -> tuple[float, float, float, float] | None:
        """Pooled share, its standard error, calls per point and points per day; None while too few are pooled."""
        trials = sum(n for _, _, n in self._past)
        if trials < self.settings.min_baseline_trials or len(self._past) < 2:
            return None
        share = sum(k for _, k, _ in self._past) / trials
        span = self._past[-1][0] - self._past[0][0]
        spacing = span / (len(self._past) - 1)  # seconds between points: the monitor's interval, gaps aside
        per_day = SECONDS_PER_DAY / spacing if spacing > 0 else 1440.0
        return share, math.sqrt(max(share * (1.0 - share), 1e-12) / trials), trials / len(self._past), per_day

    def _side(self, stat: float, k: int, n: int, base: float, shifted: float, run: float, calls: float
              ) -> tuple[float, float]:  # fmt: skip
        """One one-sided CUSUM step: the new statistic and its limit."""
        match, other = bernoulli_llr(base, shifted)
        limit = share_limit(run, base, shifted, calls)
        return min(2.0 * limit, max(0.0, stat + k * match + (n - k) * other)), limit

    def _judge(self, ts: float, value: Any) -> tuple[State, float, str]:
        s = self.settings
        assert isinstance(value, Proportion)
        baseline = self._baseline()
        if baseline is None:
            self._learn(ts, value, alerting=False)
            return "ok", 0.0, t("watch.learning")
        share, se, calls, per_day = baseline
        sides = 2.0 if s.direction == "both" else 1.0  # two one-sided tests share the false-alarm budget
        run = s.arl0_days * per_day * sides  # in points
        k, n = value.successes, value.trials
        ratio, limit = 0.0, math.inf
        if s.direction in ("up", "both"):
            base = _rounded(min(1.0 - 2 * _EDGE, max(_EDGE, share + s.baseline_margin_se * se)))
            self._high, limit = self._side(self._high, k, n, base, min(1.0 - _EDGE, base + s.shift), run, calls)
            ratio = self._high / limit
        if s.direction in ("down", "both"):
            base = _rounded(max(2 * _EDGE, min(1.0 - _EDGE, share - s.baseline_margin_se * se)))
            self._low, low_limit = self._side(self._low, k, n, base, max(_EDGE, base - s.shift), run, calls)
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
