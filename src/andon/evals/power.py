"""Power and sample size, both directions: the cases needed for a difference, the difference detectable with n.

Two-sided tests at level ``alpha``. Paired proportions: McNemar with an expected discordance (Connor, 1987).
Unpaired proportions: the normal test with Fleiss–Tytun–Ury's continuity correction (Fleiss, 1981, Table A.3).
Unpaired means: the normal approximation with Guenther's (1981) correction for the t-test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

from andon.evals.stats import StatisticsError

__all__ = [
    "PowerResult",
    "mean_difference_detectable",
    "means_n",
    "means_power",
    "paired_difference_detectable",
    "paired_n",
    "paired_power",
    "proportion_difference_detectable",
    "proportions_n",
    "proportions_power",
]

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class PowerResult:
    """An answer: the cases needed (per group for unpaired designs), or the difference detectable with them."""

    design: str  # paired | proportions | means
    n: int
    difference: float | None  # None: no difference up to the largest possible one reaches the power
    alpha: float
    power: float


def _z(alpha: float, power: float) -> tuple[float, float]:
    if not 0.0 < alpha < 1.0:
        raise StatisticsError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}", hint="e.g. 0.05")
    if not 0.0 < power < 1.0:
        raise StatisticsError(f"power must be between 0 and 1 (exclusive), got {power!r}", hint="e.g. 0.8")
    return _NORMAL.inv_cdf(1.0 - alpha / 2.0), _NORMAL.inv_cdf(power)


def _check_n(n: int) -> None:
    if n < 1:
        raise StatisticsError(f"n must be at least 1, got {n}")


def _increasing_root(f: Callable[[float], float], low: float, high: float, goal: float) -> float | None:
    """The smallest x in [low, high] with f(x) >= goal for an increasing f; None when even f(high) falls short."""
    if f(high) < goal:
        return None
    for _ in range(100):
        mid = (low + high) / 2.0
        if f(mid) >= goal:
            high = mid
        else:
            low = mid
    return high


# --- paired proportions (McNemar) ----------------------------------------------------------------------------


def _check_paired(difference: float, discordance: float) -> None:
    if not 0.0 < discordance <= 1.0:
        raise StatisticsError(
            f"expected discordance must be in (0, 1], got {discordance!r}",
            hint="the share of cases the two versions disagree on, e.g. 0.2",
        )
    if not 0.0 < abs(difference) <= discordance:
        raise StatisticsError(
            f"a paired difference must be non-zero and at most the discordance ({discordance:g}), got {difference!r}",
            hint="the difference is the fixed minus the broken share; both are parts of the discordance",
        )


def paired_n(difference: float, discordance: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Pairs McNemar's test needs to detect ``difference`` (p01 − p10) at an expected ``discordance`` (p01 + p10).

    Connor (1987): ``n = ((z_{α/2}·√ψ + z_β·√(ψ − δ²)) / δ)²``, rounded up.
    """
    za, zb = _z(alpha, power)
    _check_paired(difference, discordance)
    d, psi = abs(difference), discordance
    n = ((za * math.sqrt(psi) + zb * math.sqrt(max(0.0, psi - d * d))) / d) ** 2
    return max(1, math.ceil(n - 1e-9))


def paired_power(n: int, difference: float, discordance: float, alpha: float = 0.05) -> float:
    """Power of McNemar's test with ``n`` pairs (Connor's normal approximation, both tails)."""
    _check_n(n)
    _check_paired(difference, discordance)
    za = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    d, psi = abs(difference), discordance
    spread = math.sqrt(max(psi - d * d, 1e-300))
    return _NORMAL.cdf((d * math.sqrt(n) - za * math.sqrt(psi)) / spread) + _NORMAL.cdf(
        (-d * math.sqrt(n) - za * math.sqrt(psi)) / spread
    )


def paired_difference_detectable(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest paired difference McNemar detects with ``power`` in ``n`` pairs; None if none reaches it."""
    _z(alpha, power)
    _check_n(n)
    _check_paired(discordance, discordance)
    return _increasing_root(lambda d: paired_power(n, d, discordance, alpha), 1e-9, discordance, power)


# --- unpaired proportions ---------------------------------------------------------------------------------------


def _check_rates(p1: float, p2: float) -> None:
    for p in (p1, p2):
        if not 0.0 < p < 1.0:
            raise StatisticsError(f"a proportion must be between 0 and 1 (exclusive), got {p!r}")
    if p1 == p2:
        raise StatisticsError("the two proportions are equal: there is no difference to detect")


def _uncorrected_n(p1: float, p2: float, za: float, zb: float) -> float:
    bar = (p1 + p2) / 2.0
    spread = za * math.sqrt(2.0 * bar * (1.0 - bar)) + zb * math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    return (spread / (p2 - p1)) ** 2


def _corrected(n: float, difference: float) -> float:
    # Fleiss, Tytun & Ury (1980): the continuity correction of the per-group size.
    return n / 4.0 * (1.0 + math.sqrt(1.0 + 4.0 / (n * abs(difference)))) ** 2


def proportions_n(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8, *, continuity: bool = True) -> int:
    """Cases per group to tell a rate ``p1`` from ``p2`` in two independent samples (Fleiss, 1981, eq. 3.14)."""
    za, zb = _z(alpha, power)
    _check_rates(p1, p2)
    n = _uncorrected_n(p1, p2, za, zb)
    if continuity:
        n = _corrected(n, p2 - p1)
    return max(1, math.ceil(n - 1e-9))


def proportions_power(n: int, p1: float, p2: float, alpha: float = 0.05, *, continuity: bool = True) -> float:
    """Power with ``n`` cases per group; with the correction, ``n`` is first mapped back to its uncorrected size."""
    _check_n(n)
    _check_rates(p1, p2)
    za = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    d = abs(p2 - p1)
    effective = float(n)
    if continuity:
        # Invert the correction (increasing in its argument): the uncorrected size whose corrected one is n.
        found = _increasing_root(lambda m: _corrected(m, d), 1e-9, float(n), float(n))
        effective = found if found is not None else 0.0
    bar = (p1 + p2) / 2.0
    pooled = math.sqrt(2.0 * bar * (1.0 - bar))
    spread = math.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
    return _NORMAL.cdf((d * math.sqrt(effective) - za * pooled) / spread)


def proportion_difference_detectable(
    n: int, p1: float, alpha: float = 0.05, power: float = 0.8, *, continuity: bool = True, decrease: bool = False
) -> float | None:
    """The smallest rise (or, with ``decrease``, fall) from ``p1`` detected with ``power`` at ``n`` per group."""
    _z(alpha, power)
    _check_n(n)
    _check_rates(p1, 0.5 if p1 != 0.5 else 0.25)
    room = p1 if decrease else 1.0 - p1
    sign = -1.0 if decrease else 1.0
    return _increasing_root(
        lambda d: proportions_power(n, p1, p1 + sign * d, alpha, continuity=continuity), 1e-6, room - 1e-9, power
    )


# --- unpaired means ---------------------------------------------------------------------------------------------


def _check_means(difference: float, sd: float) -> None:
    if not sd > 0:
        raise StatisticsError(f"the standard deviation must be positive, got {sd!r}")
    if difference == 0:
        raise StatisticsError("a difference of 0 cannot be detected", hint="give the smallest difference that matters")


def means_n(difference: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Cases per group for a two-sample t-test: ``2·(z_{α/2} + z_β)²·σ²/δ² + z_{α/2}²/4`` (Guenther, 1981)."""
    za, zb = _z(alpha, power)
    _check_means(difference, sd)
    n = 2.0 * (za + zb) ** 2 * (sd / difference) ** 2 + za * za / 4.0
    return max(2, math.ceil(n - 1e-9))


def means_power(n: int, difference: float, sd: float, alpha: float = 0.05) -> float:
    """Power of the two-sample t-test with ``n`` per group (the same approximation as :func:`means_n`)."""
    _check_n(n)
    _check_means(difference, sd)
    za = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    effective = max(0.0, n - za * za / 4.0)
    return _NORMAL.cdf(abs(difference) / sd * math.sqrt(effective / 2.0) - za)


def mean_difference_detectable(n: int, sd: float, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest difference of means detected with ``power`` at ``n`` per group; None when n is too small."""
    za, zb = _z(alpha, power)
    _check_n(n)
    _check_means(1.0, sd)
    effective = n - za * za / 4.0
    if n < 2 or effective <= 0:  # one case per group leaves no degrees of freedom for the variance
        return None
    return (za + zb) * sd * math.sqrt(2.0 / effective)
