"""Intervals and tests for honest comparisons: Wilson, Newcombe, bootstrap, McNemar, permutation, kappa.

Pure Python (no numpy, no scipy), no I/O. Every random procedure takes a ``seed`` and is deterministic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterator, Sequence
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from andon.errors import AndonError

__all__ = [
    "QuantileOf",
    "StatisticsError",
    "binomial_test",
    "bootstrap_index_blocks",
    "bootstrap_indices",
    "bootstrap_mean_interval",
    "cohen_kappa",
    "kappa_interval",
    "mcnemar_exact",
    "mean",
    "newcombe_paired_interval",
    "paired_bootstrap_diff",
    "paired_permutation_test",
    "percentiles",
    "quantile",
    "wilson_interval",
]

# The smallest positive float: an exact p-value is never 0, so underflow is reported as this instead.
_TINY = math.ulp(0.0)


class StatisticsError(AndonError, ValueError):
    """A statistic was asked of data that cannot give it (no values, mismatched pairs, bad confidence)."""


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise StatisticsError(
            f"confidence must be between 0 and 1 (exclusive), got {confidence!r}",
            hint="use e.g. 0.95 for a 95% interval",
        )


def _z(confidence: float) -> float:
    """Two-sided standard-normal critical value, e.g. 1.95996 for 0.95."""
    _check_confidence(confidence)
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_nonempty(values: Sequence[float], what: str) -> None:
    if len(values) == 0:
        raise StatisticsError(f"{what} needs at least one value, got none", hint="check that the run has results")


def _check_paired(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise StatisticsError(
            f"paired samples differ in length ({len(a)} vs {len(b)})",
            hint="pair the results by case id and keep only cases present in both runs",
        )


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean with an exactly rounded sum (``math.fsum``), never outside ``[min, max]``."""
    _check_nonempty(values, "mean")
    # fsum is exact but the division rounds again: three copies of x can average one ulp past x.
    # The true mean lies inside the data's range, so clamping only undoes that second rounding.
    return min(max(math.fsum(values) / len(values), min(values)), max(values))


# --- proportions -------------------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``n == 0`` gives ``(0.0, 1.0)`` (nothing known)."""
    z = _z(confidence)
    if n < 0 or not 0 <= successes <= n:
        raise StatisticsError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denom
    # In exact arithmetic low <= p <= high, with low == 0 at p == 0 and high == 1 at p == 1;
    # clamping only removes rounding noise so reports never show an interval that misses its estimate.
    low = 0.0 if successes == 0 else max(0.0, min(centre - half, p))
    high = 1.0 if successes == n else min(1.0, max(centre + half, p))
    return (low, high)


def newcombe_paired_interval(a: int, b: int, c: int, d: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """Interval for the change in a paired pass rate, B minus A: ``(delta, low, high)``.

    Cells as in McNemar: ``a`` both pass, ``b`` A passes/B fails, ``c`` A fails/B passes, ``d`` both fail;
    ``delta = (c - b) / n``. Method: Newcombe (1998) square-and-add of the two Wilson intervals with the
    continuity-corrected correlation term ("method 10"), which keeps good coverage near 0 and 1 where the
    Wald interval fails. ``n == 0`` gives ``(0.0, -1.0, 1.0)``.
    """
    if min(a, b, c, d) < 0:
        raise StatisticsError(f"cell counts must be >= 0, got a={a}, b={b}, c={c}, d={d}")
    n = a + b + c + d
    if n == 0:
        _check_confidence(confidence)
        return (0.0, -1.0, 1.0)
    # Group 1 is B (passes: a + c), group 2 is A (passes: a + b), so delta = p1 - p2.
    x1, x2 = a + c, a + b
    p1, p2 = x1 / n, x2 / n
    l1, u1 = wilson_interval(x1, n, confidence)
    l2, u2 = wilson_interval(x2, n, confidence)
    psi = 0.0
    if 0 < x1 < n and 0 < x2 < n:
        # Correlation of the two marginals; positive values shrunk by n/2 (Newcombe's continuity correction).
        cross = a * d - b * c
        spread = math.sqrt(x1 * (n - x1) * x2 * (n - x2))
        if cross > n / 2:
            psi = (cross - n / 2) / spread
        elif cross < 0:
            psi = cross / spread
    delta = p1 - p2
    lo_1, hi_2 = p1 - l1, u2 - p2
    hi_1, lo_2 = u1 - p1, p2 - l2
    low = delta - math.sqrt(max(0.0, lo_1**2 + hi_2**2 - 2 * psi * lo_1 * hi_2))
    high = delta + math.sqrt(max(0.0, lo_2**2 + hi_1**2 - 2 * psi * lo_2 * hi_1))
    return (delta, max(-1.0, min(low, delta)), min(1.0, max(high, delta)))


# --- exact tests on counts ---------------------------------------------------------------------------------


def binomial_test(k: int, n: int, p: float | Fraction = 0.5) -> float:
    """Exact two-sided binomial p-value of ``k`` successes in ``n`` trials under success probability ``p``.

    Two-sided means: the total probability of outcomes no more likely than ``k`` (the "minlike" rule,
    as R's ``binom.test``); for ``p = 0.5`` that is twice the smaller tail, capped at 1.
    """
    if n < 0 or not 0 <= k <= n:
        raise StatisticsError(f"need 0 <= k <= n, got k={k}, n={n}")
    prob = Fraction(p)
    if not 0 <= prob <= 1:
        raise StatisticsError(f"success probability must be in [0, 1], got {p!r}")
    if n == 0:
        return 1.0
    if prob == Fraction(1, 2):
        # Integer arithmetic: exact for any n, and Python's int division rounds correctly once.
        # Each binomial coefficient from the last (one multiply, one exact divide): n comb() calls cost O(n²) digits.
        tail, coefficient = 0, 1
        for i in range(min(k, n - k) + 1):
            tail += coefficient
            coefficient = coefficient * (n - i) // (i + 1)
        return max(_TINY, min(1.0, 2 * tail / (1 << n)))
    q = 1 - prob
    pmf = [math.comb(n, i) * prob**i * q ** (n - i) for i in range(n + 1)]
    observed = pmf[k]
    total = sum((x for x in pmf if x <= observed), Fraction(0))
    return max(_TINY, min(1.0, float(total)))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar p-value on the discordant pairs (``b`` A-only passes, ``c`` B-only passes); 1.0 if none.

    Under "no difference" each discordant pair is a fair coin, so this is the two-sided binomial test of
    ``b`` in ``b + c`` at p = 0.5. Symmetric in ``b`` and ``c``.
    """
    if b < 0 or c < 0:
        raise StatisticsError(f"discordant counts must be >= 0, got b={b}, c={c}")
    return binomial_test(b, b + c, Fraction(1, 2))


# --- quantiles ---------------------------------------------------------------------------------------------


def _check_finite(values: Sequence[float], what: str) -> None:
    for v in values:
        if not math.isfinite(v):
            raise StatisticsError(f"{what} got a non-finite value {v!r}", hint="drop NaN/inf before summarising")


def _quantile_sorted(ordered: Sequence[float], q: float) -> float:
    # numpy's 'linear' rule h = (n-1)q, computed in exact rationals and rounded once: the result is
    # monotone in q and never leaves [min, max], which float interpolation does not guarantee.
    n = len(ordered)
    h = Fraction(q) * (n - 1)
    lo = math.floor(h)
    if lo >= n - 1:
        return float(ordered[-1])
    x0, x1 = Fraction(ordered[lo]), Fraction(ordered[lo + 1])
    return float(x0 + (h - lo) * (x1 - x0))


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0 <= q <= 1) with linear interpolation, numpy's default 'linear' method."""
    if not 0.0 <= q <= 1.0:
        raise StatisticsError(f"quantile q must be in [0, 1], got {q!r}")
    _check_nonempty(values, "quantile")
    _check_finite(values, "quantile")
    return _quantile_sorted(sorted(values), q)


class QuantileOf:
    """``quantile(values, q)`` as a statistic for :func:`paired_bootstrap_diff`, which sorts its resamples with
    numpy (the same order, so the same value) instead of one ``sorted`` per resample."""

    def __init__(self, q: float) -> None:
        self.q = q

    def __call__(self, values: Sequence[float]) -> float:
        return quantile(values, self.q)

    def of_rows(self, rows: npt.NDArray[np.float64]) -> list[float]:
        """The statistic of each row of ``rows`` (finite values, checked by the caller)."""
        ordered = np.sort(rows, axis=1)
        return [_quantile_sorted(row, self.q) for row in ordered]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Latency-style summary: ``{p50, p90, p95, p99, mean, max}`` (linear-interpolated quantiles)."""
    _check_nonempty(values, "percentiles")
    _check_finite(values, "percentiles")
    ordered = sorted(values)
    summary = {f"p{int(q * 100)}": _quantile_sorted(ordered, q) for q in (0.5, 0.9, 0.95, 0.99)}
    summary["mean"] = mean(ordered)
    summary["max"] = float(ordered[-1])
    return summary


# --- bootstrap ---------------------------------------------------------------------------------------------


def bootstrap_indices(n: int, n_resamples: int = 2000, seed: int = 0) -> Iterator[list[int]]:
    """Yield ``n_resamples`` lists of ``n`` indices drawn with replacement; deterministic for a seed.

    The building block for bootstrapping any per-case statistic (e.g. macro F1 over cases).
    """
    for block in bootstrap_index_blocks(n, n_resamples, seed):
        yield from block.tolist()


def _twin(seed: int) -> np.random.RandomState:
    """numpy's legacy generator in the very state of ``random.Random(seed)`` (both are MT19937)."""
    _, words, _ = random.Random(seed).getstate()
    generator = np.random.RandomState()
    generator.set_state(("MT19937", np.array(words[:-1], dtype=np.uint32), int(words[-1]), 0, 0.0))
    return generator


INDEX_BLOCK = 2_000_000  # indices drawn per block: 16 MB of int64 whatever the run's size


def bootstrap_index_blocks(n: int, n_resamples: int = 2000, seed: int = 0) -> Iterator[npt.NDArray[np.int64]]:
    """The resamples of :func:`bootstrap_indices` as numpy blocks (rows × ``n``), drawn at numpy's speed.

    The very indices ``random.Random(seed).choices(range(n), k=n)`` gives, resample after resample: numpy's
    legacy generator is the same Mersenne Twister with the same 53-bit doubles, so it takes over the state of
    ``random.Random(seed)`` and ``floor(random() * n)`` is computed alike.
    """
    if n < 1:
        raise StatisticsError("bootstrap needs at least one case, got none", hint="check that the run has results")
    if n_resamples < 1:
        raise StatisticsError(f"n_resamples must be >= 1, got {n_resamples}")
    generator = _twin(seed)
    rows = max(1, INDEX_BLOCK // n)
    for start in range(0, n_resamples, rows):
        draws = generator.random_sample((min(rows, n_resamples - start), n))
        yield np.floor(draws * float(n)).astype(np.int64)


def _percentile_bounds(stats: list[float], confidence: float) -> tuple[float, float]:
    stats.sort()
    tail = (1.0 - confidence) / 2.0
    return (_quantile_sorted(stats, tail), _quantile_sorted(stats, 1.0 - tail))


def bootstrap_mean_interval(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Percentile-bootstrap interval for a mean: ``(mean, low, high)``; deterministic for a seed."""
    _check_confidence(confidence)
    _check_nonempty(values, "bootstrap_mean_interval")
    _check_finite(values, "bootstrap_mean_interval")
    column = np.asarray(values, dtype=float)
    blocks = bootstrap_index_blocks(len(values), n_resamples, seed)
    stats = [mean(row) for block in blocks for row in column[block].tolist()]
    low, high = _percentile_bounds(stats, confidence)
    return (mean(values), low, high)


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    statistic: Callable[[Sequence[float]], float] = mean,
) -> tuple[float, float, float, float]:
    """Paired bootstrap of ``statistic(b) - statistic(a)``: ``(diff, low, high, p_value)``.

    Cases are resampled as pairs, so per-case difficulty cancels. ``statistic`` defaults to the mean;
    pass e.g. ``lambda v: quantile(v, 0.95)`` for a p95 delta. The two-sided p-value is the percentile
    one, ``2 * min(P*(diff <= 0), P*(diff >= 0))`` with the +1 correction so it is never 0; it agrees with
    the interval: ``p < 1 - confidence`` roughly when the interval excludes 0.
    """
    _check_confidence(confidence)
    _check_paired(a, b)
    _check_nonempty(a, "paired_bootstrap_diff")
    _check_finite(a, "paired_bootstrap_diff")
    _check_finite(b, "paired_bootstrap_diff")
    diffs: list[float] = []
    a_column, b_column = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    for block in bootstrap_index_blocks(len(a), n_resamples, seed):
        a_rows, b_rows = a_column[block], b_column[block]
        if isinstance(statistic, QuantileOf):
            diffs += [y - x for x, y in zip(statistic.of_rows(a_rows), statistic.of_rows(b_rows), strict=True)]
            continue
        for a_row, b_row in zip(a_rows.tolist(), b_rows.tolist(), strict=True):
            diffs.append(statistic(b_row) - statistic(a_row))
    at_most_zero = sum(1 for x in diffs if x <= 0)
    at_least_zero = sum(1 for x in diffs if x >= 0)
    p_value = min(1.0, 2 * (min(at_most_zero, at_least_zero) + 1) / (len(diffs) + 1))
    # n pairs carry at most n signs of evidence: no paired test can be surer than the exact sign-flip test's
    # smallest two-sided p, 2 / 2**n (one pair: 1.0). Resampling one pair 2,000 times otherwise says p = 0.001.
    p_value = max(p_value, min(1.0, 2.0 ** (1 - len(a))))
    low, high = _percentile_bounds(diffs, confidence)
    return (statistic(b) - statistic(a), low, high, p_value)


# --- permutation -------------------------------------------------------------------------------------------


def _subset_sum_tables(diffs: Sequence[float]) -> list[list[float]]:
    # One table per block of 8 differences: table[mask] = sum of the block's entries whose bit is set.
    # A sign pattern then costs one lookup per 8 cases instead of 8 multiply-adds.
    tables = []
    for start in range(0, len(diffs), 8):
        block = diffs[start : start + 8]
        table = [0.0] * (1 << len(block))
        for mask in range(1, len(table)):
            low_bit = mask & -mask
            table[mask] = table[mask ^ low_bit] + block[low_bit.bit_length() - 1]
        tables.append(table)
    return tables


def paired_permutation_test(
    a: Sequence[float], b: Sequence[float], n_permutations: int = 10_000, seed: int = 0
) -> float:
    """Two-sided sign-flip permutation p-value for ``mean(b - a) == 0``; identical samples give 1.0.

    Under the null each paired difference is as likely negative as positive. Zero differences carry no
    information and are dropped; with ``m`` non-zero differences the test is exact (all ``2**m`` sign
    patterns) when ``2**m <= n_permutations``, otherwise Monte Carlo with ``(1 + hits) / (1 + N)``
    so p is never 0. Sums within a relative 1e-9 of the observed one count as ties (i.e. as extreme).
    """
    _check_paired(a, b)
    _check_nonempty(a, "paired_permutation_test")
    _check_finite(a, "paired_permutation_test")
    _check_finite(b, "paired_permutation_test")
    if n_permutations < 1:
        raise StatisticsError(f"n_permutations must be >= 1, got {n_permutations}")
    diffs = [y - x for x, y in zip(a, b, strict=True) if y != x]
    m = len(diffs)
    if m == 0:
        return 1.0
    tables = _subset_sum_tables(diffs)
    total = math.fsum(diffs)
    n_bytes = (m + 7) // 8
    # A set bit keeps a difference's sign, a clear bit flips it: sum = 2 * kept - total.
    observed = abs(total)
    threshold = observed - 1e-9 * math.fsum(abs(x) for x in diffs)

    def extreme(bits: int) -> bool:
        kept = sum(t[byte] for t, byte in zip(tables, bits.to_bytes(n_bytes, "little"), strict=True))
        return abs(2.0 * kept - total) >= threshold

    if (1 << m) <= n_permutations:
        hits = sum(1 for bits in range(1 << m) if extreme(bits))
        return min(1.0, hits / (1 << m))
    hits = _monte_carlo_hits(tables, m, n_permutations, seed, total, threshold)
    return min(1.0, (hits + 1) / (n_permutations + 1))


PATTERN_BLOCK = 4_000_000  # sign-pattern bytes looked up per block


def sign_patterns(m: int, n: int, seed: int) -> Iterator[npt.NDArray[np.uint8]]:
    """The bytes of ``random.Random(seed).getrandbits(m)``, ``n`` times, as numpy blocks (rows × ⌈m/8⌉, little
    end first): the same Mersenne Twister words, the last one shifted as CPython does."""
    generator = _twin(seed)
    n_words, n_bytes, spare = (m - 1) // 32 + 1, (m + 7) // 8, (-m) % 32
    rows = max(1, PATTERN_BLOCK // n_bytes)
    for start in range(0, n, rows):
        drawn = generator.randint(0, 1 << 32, size=(min(rows, n - start), n_words), dtype=np.uint32)
        drawn[:, -1] >>= np.uint32(spare)
        yield drawn.astype("<u4").view(np.uint8)[:, :n_bytes]


def _monte_carlo_hits(tables: list[list[float]], m: int, n: int, seed: int, total: float, threshold: float) -> int:
    """How many of ``n`` random sign patterns are as extreme as the observed sum (the Monte Carlo branch)."""
    lookup = np.zeros((len(tables), 256))
    for j, table in enumerate(tables):
        lookup[j, : len(table)] = table
    hits = 0
    for block in sign_patterns(m, n, seed):
        kept = np.zeros(len(block))
        for j in range(len(tables)):  # byte by byte, left to right: the sums round as Python's sum() does
            kept += lookup[j, block[:, j]]
        hits += int(np.count_nonzero(np.abs(2.0 * kept - total) >= threshold))
    return hits


# --- agreement ---------------------------------------------------------------------------------------------


def cohen_kappa(rater_a: Sequence[Hashable], rater_b: Sequence[Hashable]) -> float:
    """Cohen's kappa between two raters' labels of the same items, in [-1, 1].

    Degenerate case: when both raters give every item the same single label, chance agreement is 1 and
    kappa is 0/0; we define it as 1.0, since the raters agree on every item.
    """
    _check_paired(rater_a, rater_b)
    if len(rater_a) == 0:
        raise StatisticsError("cohen_kappa needs at least one rated item, got none")
    n = len(rater_a)
    count_a: dict[Hashable, int] = {}
    count_b: dict[Hashable, int] = {}
    agree = 0
    for x, y in zip(rater_a, rater_b, strict=True):
        count_a[x] = count_a.get(x, 0) + 1
        count_b[y] = count_b.get(y, 0) + 1
        agree += x == y
    # Exact rationals so perfect agreement is exactly 1 and the bounds hold without rounding slack.
    observed = Fraction(agree, n)
    chance = sum((Fraction(count_a[k] * count_b.get(k, 0), n * n) for k in count_a), Fraction(0))
    if chance == 1:
        return 1.0
    return float((observed - chance) / (1 - chance))


def kappa_interval(
    rater_a: Sequence[Hashable], rater_b: Sequence[Hashable], confidence: float = 0.95
) -> tuple[float, float | None, float | None]:
    """Cohen's kappa with its large-sample interval, ``kappa ± z·se``, clipped to [-1, 1].

    ``se = sqrt(po·(1 − po) / (n·(1 − pe)²))`` (Cohen, 1960). When both raters use one single label,
    chance agreement is 1 and the data say nothing about agreement beyond chance: the bounds are None.
    """
    kappa = cohen_kappa(rater_a, rater_b)
    z = _z(confidence)
    n = len(rater_a)
    count_a: dict[Hashable, int] = {}
    count_b: dict[Hashable, int] = {}
    for x, y in zip(rater_a, rater_b, strict=True):
        count_a[x] = count_a.get(x, 0) + 1
        count_b[y] = count_b.get(y, 0) + 1
    observed = sum(x == y for x, y in zip(rater_a, rater_b, strict=True)) / n
    chance = math.fsum(count_a[k] * count_b.get(k, 0) for k in count_a) / (n * n)
    if chance >= 1.0:
        return kappa, None, None
    se = math.sqrt(max(0.0, observed * (1.0 - observed)) / (n * (1.0 - chance) ** 2))
    return kappa, max(-1.0, min(kappa, kappa - z * se)), min(1.0, max(kappa, kappa + z * se))
