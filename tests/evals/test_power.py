"""Power and sample size against published tables, and by simulation; Holm's adjustment by hand."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.evals import power as pw
from andon.evals.exact import beta_quantile
from andon.evals.multiple import holm_adjusted, holm_levels
from andon.evals.stats import StatisticsError

_Z = NormalDist().inv_cdf(0.975)


def test_mcnemar_sample_size_matches_connor_1987() -> None:
    """Connor (1987), Biometrics 43:207–211, p. 209: p10 = 0.05, p01 = 0.45, α = 0.05 two-sided, power 0.8 → 23 pairs.

    And ψ = 0.45 with |p10 − p01| = 0.15 → 155 pairs (the same formula as tabulated by Lachin 1992).
    """
    assert pw.paired_n(0.40, 0.50) == 23
    assert pw.paired_n(-0.40, 0.50) == 23  # the direction does not matter to a two-sided test
    assert pw.paired_n(0.15, 0.45) == 155
    assert pw.paired_power(155, 0.15, 0.45) == pytest.approx(0.80, abs=0.005)


def test_two_sample_t_test_sizes_match_cohens_table() -> None:
    """Cohen (1988), Statistical Power Analysis, Table 2.4.1 (α2 = .05, power .80): d = .8 → 26, d = .5 → 64.

    For d = .2 the table has 393; the exact noncentral-t answer (G*Power) is 394, which Guenther's correction gives.
    """
    assert pw.means_n(0.8, 1.0) == 26
    assert pw.means_n(0.5, 1.0) == 64
    assert pw.means_n(0.2, 1.0) in (393, 394)
    assert pw.means_n(5.0, 10.0) == 64  # only d = difference / sd matters


def test_two_proportions_match_fleiss() -> None:
    """Fleiss, Tytun & Ury (1980) / Fleiss (1981) ch. 3: 0.5 vs 0.6 at α = .05, power .8 → 388 per group, 408 corrected.

    (Fleiss's Table A.3 lists the corrected sizes; statpages.org's calculator reproduces both.)
    """
    assert pw.proportions_n(0.5, 0.6, continuity=False) == 388
    assert pw.proportions_n(0.5, 0.6) == 408
    assert pw.proportions_n(0.6, 0.5) == 408


def test_detectable_difference_inverts_the_sample_size() -> None:
    for n in (23, 102, 155, 1000):
        d = pw.paired_difference_detectable(n, 0.45)
        if d is not None:
            assert pw.paired_power(n, d, 0.45) == pytest.approx(0.8, abs=1e-6)
    d = pw.mean_difference_detectable(64, 1.0)
    assert d is not None and d == pytest.approx(0.5, abs=0.01) and pw.means_n(d, 1.0) <= 64
    rise = pw.proportion_difference_detectable(408, 0.5)
    assert rise == pytest.approx(0.1, abs=0.002)
    fall = pw.proportion_difference_detectable(102, 0.9, decrease=True)
    assert fall is not None and pw.proportions_n(0.9, 0.9 - fall) == pytest.approx(102, abs=1)
    assert pw.paired_difference_detectable(3, 0.05) is None  # three pairs detect nothing
    assert pw.mean_difference_detectable(1, 1.0) is None


@given(st.integers(10, 5000), st.floats(0.05, 1.0))
def test_paired_directions_agree(n: int, discordance: float) -> None:
    d = pw.paired_difference_detectable(n, discordance)
    if d is not None:
        assert pw.paired_n(d, discordance) <= n + 1


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(StatisticsError, match="at most the discordance"):
        pw.paired_n(0.3, 0.2)
    with pytest.raises(StatisticsError, match="equal"):
        pw.proportions_n(0.5, 0.5)
    with pytest.raises(StatisticsError, match="power"):
        pw.means_n(0.5, 1.0, power=1.0)


def _simulated_power(trials: int, seed: int, rejects: object) -> float:
    rng = random.Random(seed)
    hits = sum(1 for _ in range(trials) if rejects(rng))  # type: ignore[operator]
    return hits / trials


def test_mcnemar_power_by_simulation() -> None:
    n = pw.paired_n(0.15, 0.45)  # p10 = 0.15, p01 = 0.30

    def rejects(rng: random.Random) -> bool:
        b = c = 0
        for _ in range(n):
            u = rng.random()
            b += u < 0.15
            c += 0.15 <= u < 0.45
        return b + c > 0 and abs(c - b) / math.sqrt(b + c) > _Z

    assert _simulated_power(3000, 1, rejects) == pytest.approx(0.80, abs=0.03)


def test_unpaired_proportions_power_by_simulation() -> None:
    n = pw.proportions_n(0.5, 0.6, continuity=False)

    def rejects(rng: random.Random) -> bool:
        x = sum(rng.random() < 0.5 for _ in range(n))
        y = sum(rng.random() < 0.6 for _ in range(n))
        pooled = (x + y) / (2 * n)
        return abs(y - x) / n / math.sqrt(pooled * (1 - pooled) * 2 / n) > _Z

    assert _simulated_power(2000, 2, rejects) == pytest.approx(0.80, abs=0.03)


def _t_critical(df: int) -> float:
    # P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2): the t with that tail equal to 0.05, from the beta quantile.
    x = beta_quantile(0.05, df / 2.0, 0.5)
    return math.sqrt(df * (1.0 - x) / x)


def test_t_test_power_by_simulation() -> None:
    n = pw.means_n(0.5, 1.0)
    critical = _t_critical(2 * n - 2)
    assert critical == pytest.approx(1.979, abs=1e-3)  # t(0.975; 126), as in any t table

    def rejects(rng: random.Random) -> bool:
        a = [rng.gauss(0.0, 1.0) for _ in range(n)]
        b = [rng.gauss(0.5, 1.0) for _ in range(n)]
        ma, mb = sum(a) / n, sum(b) / n
        var = (sum((v - ma) ** 2 for v in a) + sum((v - mb) ** 2 for v in b)) / (2 * n - 2)
        return abs(mb - ma) / math.sqrt(var * 2 / n) > critical

    assert _simulated_power(3000, 3, rejects) == pytest.approx(0.80, abs=0.03)


def test_holm_by_hand() -> None:
    """Holm (1979): sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 → 0.02, 0.03, 0.06, 0.04 → made monotone."""
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjusted([]) == [] and holm_adjusted([0.7, 0.9]) == [1.0, 1.0]
    assert holm_levels(3) == pytest.approx([0.05 / 3, 0.025, 0.05])


@given(st.lists(st.floats(0, 1), max_size=20))
def test_holm_is_never_below_the_raw_p_value(p_values: list[float]) -> None:
    adjusted = holm_adjusted(p_values)
    assert all(p <= a <= 1.0 for p, a in zip(p_values, adjusted, strict=True))
