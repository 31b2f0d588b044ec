"""Two independent samples compared: Mann-Whitney U for continuous values, two proportions for rates.

Pure Python, no I/O, deterministic. Both tests are one-sided or two-sided and take a margin (a tolerance),
so "the canary is worse than the stable version by more than the tolerance" is one call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

from andon.evals.stats import StatisticsError, quantile

__all__ = ["Alternative", "iqr_inliers", "mann_whitney_u", "two_proportion_test"]

Alternative = Literal["greater", "less", "two-sided"]
_NORMAL = NormalDist()


def _check_alternative(alternative: str) -> None:
    if alternative not in ("greater", "less", "two-sided"):
        raise StatisticsError(f"alternative must be greater, less or two-sided, got {alternative!r}")


def _tail(z: float, alternative: Alternative) -> float:
    if alternative == "greater":
        return 1.0 - _NORMAL.cdf(z)
    if alternative == "less":
        return _NORMAL.cdf(z)
    return min(1.0, 2.0 * (1.0 - _NORMAL.cdf(abs(z))))


def mann_whitney_u(
    a: Sequence[float], b: Sequence[float], alternative: Alternative = "two-sided"
) -> tuple[float, float]:
    """(U of ``a``, p-value): ``greater`` tests whether values of ``a`` tend to exceed those of ``b``.

    U counts the pairs where a's value is larger (ties count half). The p-value is the normal approximation
    with the tie correction and a continuity correction of 0.5 (as SciPy's ``method="asymptotic"``).
    """
    _check_alternative(alternative)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise StatisticsError(f"mann_whitney_u needs values in both samples, got {n1} and {n2}")
    for v in (*a, *b):
        if not math.isfinite(v):
            raise StatisticsError(f"mann_whitney_u got a non-finite value {v!r}", hint="drop NaN/inf first")
    pooled = sorted([(float(v), 0) for v in a] + [(float(v), 1) for v in b])
    n = n1 + n2
    rank_a, ties, i = 0.0, 0.0, 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        size = j - i + 1
        mid_rank = (i + j) / 2 + 1  # ranks start at 1; tied values share the mean of theirs
        rank_a += mid_rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        ties += size**3 - size
        i = j + 1
    u = rank_a - n1 * (n1 + 1) / 2
    mu = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return u, 1.0  # every value equal: nothing tells the samples apart
    sigma = math.sqrt(variance)
    if alternative == "greater":
        z = (u - mu - 0.5) / sigma
    elif alternative == "less":
        z = (u - mu + 0.5) / sigma
    else:
        z = max(abs(u - mu) - 0.5, 0.0) / sigma
    return u, _tail(z, alternative)


def two_proportion_test(
    k1: int, n1: int, k2: int, n2: int, *, margin: float = 0.0, alternative: Alternative = "greater"
) -> tuple[float, float]:
    """(p1 − p2, p-value) of H0 ``p1 − p2 = margin`` against ``greater`` (> margin), ``less`` or two-sided.

    A Wald z-test whose standard error uses the Agresti–Caffo estimates (one success and one failure added
    to each sample), so zero or all hits still give a usable error.
    """
    _check_alternative(alternative)
    for k, n in ((k1, n1), (k2, n2)):
        if n <= 0 or not 0 <= k <= n:
            raise StatisticsError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    diff = k1 / n1 - k2 / n2
    p1, p2 = (k1 + 1) / (n1 + 2), (k2 + 1) / (n2 + 2)
    se = math.sqrt(p1 * (1 - p1) / (n1 + 2) + p2 * (1 - p2) / (n2 + 2))
    return diff, _tail((diff - margin) / se, alternative)


def iqr_inliers(values: Sequence[float], factor: float = 3.0) -> list[float]:
    """``values`` without outliers: those farther than ``factor`` interquartile ranges outside the quartiles."""
    if len(values) < 4:
        return list(values)
    q1, q3 = quantile(values, 0.25), quantile(values, 0.75)
    spread = (q3 - q1) * factor
    return [v for v in values if q1 - spread <= v <= q3 + spread]
