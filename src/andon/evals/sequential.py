"""Always-valid inference for A/B tests: the mixture sequential probability ratio test (mSPRT).

Johari, Pekelis, Koomen and Walsh, "Always Valid Inference" (2017/2022): the difference of two arms' means
``Δ`` is estimated with variance ``v``; mixing the likelihood ratio of ``Δ = θ`` against ``Δ = θ₀`` over a
normal prior ``θ ~ N(θ₀, τ²)`` gives

    Λ = sqrt(v / (v + τ²)) · exp(τ² (Δ̂ − θ₀)² / (2 v (v + τ²)))

a nonnegative martingale under the null, so by Ville's inequality ``P(Λ ever ≥ 1/α) ≤ α``: the p-value
``min(1, 1/Λ)`` (its running minimum) and the confidence sequence ``{θ₀ : Λ(θ₀) < 1/α}`` (its running
intersection) stay valid however often they are looked at. The variance is a plug-in estimate, so the
guarantee is asymptotic; ``min_samples`` per arm before the first look keeps small-sample noise out
(the A/A simulations in the tests measure it). ``τ`` is ``effect`` times the pooled standard deviation: the
effect size, in standard deviations, the test is tuned to find fastest.

    >>> r = proportions(100, 1000, 160, 1000)
    >>> r.p_value < 0.05 and r.low > 0
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_EFFECT",
    "SequentialResult",
    "from_json",
    "log_mixture_ratio",
    "mean_terms",
    "means",
    "proportion_terms",
    "proportions",
    "radius",
    "running",
]

DEFAULT_EFFECT = 0.1  # τ in pooled standard deviations: a tenth of an s.d., a typical product effect
_TINY = 1e-300

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SequentialResult:
    """One look at an experiment: treatment minus control, its confidence sequence, and the always-valid p."""

    estimate: float  # mean of treatment minus mean of control
    low: float
    high: float
    p_value: float
    n_control: int
    n_treatment: int
    control_mean: float
    treatment_mean: float

    def to_json(self) -> dict[str, Any]:
        """The plain-JSON form stored with an experiment and printed by ``andon experiment status --json``."""
        return {
            "estimate": self.estimate,
            "low": self.low if math.isfinite(self.low) else None,  # JSON has no infinity: None is unbounded
            "high": self.high if math.isfinite(self.high) else None,
            "p_value": self.p_value,
            "n_control": self.n_control,
            "n_treatment": self.n_treatment,
            "control_mean": self.control_mean,
            "treatment_mean": self.treatment_mean,
        }


def from_json(data: dict[str, Any]) -> SequentialResult:
    """The result ``SequentialResult.to_json`` stored (an unbounded side comes back as infinity)."""
    low, high = data.get("low"), data.get("high")
    return SequentialResult(
        float(data["estimate"]),
        -math.inf if low is None else float(low),
        math.inf if high is None else float(high),
        float(data["p_value"]),
        int(data["n_control"]),
        int(data["n_treatment"]),
        float(data["control_mean"]),
        float(data["treatment_mean"]),
    )


def log_mixture_ratio(delta: Any, var: Any, tau2: Any) -> Any:
    """``log Λ`` of an estimate ``delta`` (minus θ₀) with variance ``var``, prior ``N(0, tau2)``; vectorised."""
    var = np.maximum(var, _TINY)
    ratio = tau2 / var
    return -0.5 * np.log1p(ratio) + (delta * delta / var) * ratio / (2.0 * (1.0 + ratio))


def radius(var: Any, tau2: Any, alpha: float) -> Any:
    """Half-width of the confidence sequence: every θ₀ closer than this to the estimate has ``Λ(θ₀) < 1/α``."""
    var = np.maximum(var, _TINY)
    ratio = tau2 / var
    return np.sqrt(var * 2.0 * (1.0 + ratio) / ratio * (math.log(1.0 / alpha) + 0.5 * np.log1p(ratio)))


def _result(
    mean_a: float, mean_b: float, var: float, tau2: float, n_a: int, n_b: int, alpha: float
) -> SequentialResult:
    delta = mean_b - mean_a
    if n_a < 2 or n_b < 2 or not var > 0 or not tau2 > 0:
        return SequentialResult(delta, -math.inf, math.inf, 1.0, n_a, n_b, mean_a, mean_b)
    log_lr = float(log_mixture_ratio(delta, var, tau2))
    half = float(radius(var, tau2, alpha))
    p_value = 1.0 if log_lr <= 0 else math.exp(-log_lr)
    return SequentialResult(delta, delta - half, delta + half, p_value, n_a, n_b, mean_a, mean_b)


def proportion_terms(successes_a: Any, n_a: Any, successes_b: Any, n_b: Any, effect: float) -> tuple[Any, Any, Any]:
    """(Δ̂, v, τ²) of two proportions, vectorised: unpooled variance, τ from the pooled rate."""
    n_a, n_b = np.maximum(n_a, 1), np.maximum(n_b, 1)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    # A rate of 0 or 1 so far would claim no variance at all: held half a unit inside the bounds.
    q_a = np.clip(p_a, 0.5 / n_a, 1 - 0.5 / n_a)
    q_b = np.clip(p_b, 0.5 / n_b, 1 - 0.5 / n_b)
    var = q_a * (1 - q_a) / n_a + q_b * (1 - q_b) / n_b
    total = n_a + n_b
    pooled = np.clip((successes_a + successes_b) / total, 0.5 / total, 1 - 0.5 / total)
    return p_b - p_a, var, (effect * effect) * pooled * (1 - pooled)


def mean_terms(a: tuple[Any, Any, Any], b: tuple[Any, Any, Any], effect: float) -> tuple[Any, Any, Any]:
    """(Δ̂, v, τ²) of two means from ``(n, sum, sum of squares)`` per arm, vectorised; needs n ≥ 2."""
    (n_a, s_a, ss_a), (n_b, s_b, ss_b) = a, b
    n_a, n_b = np.maximum(n_a, 2), np.maximum(n_b, 2)
    mean_a, mean_b = s_a / n_a, s_b / n_b
    var_a = np.maximum(ss_a - n_a * mean_a * mean_a, 0.0) / (n_a - 1)
    var_b = np.maximum(ss_b - n_b * mean_b * mean_b, 0.0) / (n_b - 1)
    pooled = ((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2)
    return mean_b - mean_a, var_a / n_a + var_b / n_b, effect * effect * pooled


def proportions(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, alpha: float = 0.05, effect: float = DEFAULT_EFFECT
) -> SequentialResult:
    """mSPRT of two proportions (control ``a``, treatment ``b``)."""
    if n_a < 2 or n_b < 2:
        mean_a = successes_a / n_a if n_a > 0 else 0.0
        mean_b = successes_b / n_b if n_b > 0 else 0.0
        return SequentialResult(mean_b - mean_a, -math.inf, math.inf, 1.0, max(n_a, 0), max(n_b, 0), mean_a, mean_b)
    _delta, var, tau2 = proportion_terms(successes_a, n_a, successes_b, n_b, effect)
    return _result(successes_a / n_a, successes_b / n_b, float(var), float(tau2), n_a, n_b, alpha)


def means(
    a: tuple[int, float, float], b: tuple[int, float, float], *, alpha: float = 0.05, effect: float = DEFAULT_EFFECT
) -> SequentialResult:
    """mSPRT of two means, each arm given as ``(n, sum, sum of squares)`` so a store can keep running sums."""
    n_a, n_b = a[0], b[0]
    mean_a = a[1] / n_a if n_a else 0.0
    mean_b = b[1] / n_b if n_b else 0.0
    if n_a < 2 or n_b < 2:
        return SequentialResult(mean_b - mean_a, -math.inf, math.inf, 1.0, n_a, n_b, mean_a, mean_b)
    _delta, var, tau2 = mean_terms(a, b, effect)
    return _result(mean_a, mean_b, float(var), float(tau2), n_a, n_b, alpha)


def running(previous: SequentialResult | None, current: SequentialResult) -> SequentialResult:
    """The always-valid summary after another look: the lowest p so far and the intersection of the intervals.

    An empty intersection (possible, with probability at most α) keeps the newest interval.
    """
    if previous is None:
        return current
    low, high = max(previous.low, current.low), min(previous.high, current.high)
    if low > high:
        low, high = current.low, current.high
    return replace(current, low=low, high=high, p_value=min(previous.p_value, current.p_value))
