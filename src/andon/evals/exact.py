"""Exact binomial intervals: Clopper–Pearson, through the regularized incomplete beta function.

Pure Python. The incomplete beta is evaluated by its continued fraction (modified Lentz), inverted by bisection.
"""

from __future__ import annotations

import math

from andon.evals.stats import StatisticsError

__all__ = ["beta_quantile", "clopper_pearson", "incomplete_beta"]

_EPS = 1e-15
_FPMIN = 1e-300


def _continued_fraction(a: float, b: float, x: float) -> float:
    # The continued fraction of I_x(a, b) (converges fast for x < (a + 1) / (a + b + 2)).
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _FPMIN else _FPMIN)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _FPMIN else _FPMIN)
            c = 1.0 + numerator / c
            c = c if abs(c) > _FPMIN else _FPMIN
            step = c * d
            h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)`` for ``a, b > 0`` and ``0 <= x <= 1``."""
    if a <= 0 or b <= 0:
        raise StatisticsError(f"incomplete beta needs a, b > 0, got a={a!r}, b={b!r}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """The ``q``-quantile of Beta(a, b): the x with ``I_x(a, b) = q``, by bisection to 1e-12."""
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2.0
        if incomplete_beta(mid, a, b) < q:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2.0


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson exact interval for a binomial proportion; ``n == 0`` gives ``(0.0, 1.0)``.

    Each tail holds at most ``(1 - confidence) / 2``, so coverage is at least ``confidence`` for every p.
    """
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    if n < 0 or not 0 <= successes <= n:
        raise StatisticsError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else beta_quantile(tail, successes, n - successes + 1)
    high = 1.0 if successes == n else beta_quantile(1.0 - tail, successes + 1, n - successes)
    p = successes / n
    return (min(low, p), max(high, p))
