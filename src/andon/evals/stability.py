"""Stability across repeats: per-case agreement, pass@k, pass^k, all-pass share and flip rate.

Input is one mapping per run, case id -> the outcomes of that case's repeats, in repeat order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from andon.evals.stats import StatisticsError

__all__ = [
    "StabilityReport",
    "agreement",
    "all_pass_rate",
    "case_agreement",
    "flip_rate",
    "flipped_cases",
    "pass_at_k",
    "pass_hat_k",
    "stability_report",
]

Repeats = Mapping[str, Sequence[bool]]


def agreement(outputs: Sequence[object]) -> float:
    """Share of repeats equal to the most common output (1.0 = all repeats agree).

    Compares with ``==`` so unhashable outputs (parsed JSON) work; which mode wins a tie does not matter.
    """
    if len(outputs) == 0:
        raise StatisticsError("agreement needs at least one repeat, got none")
    distinct: list[object] = []
    counts: list[int] = []
    for out in outputs:
        for i, seen in enumerate(distinct):
            if seen == out:
                counts[i] += 1
                break
        else:
            distinct.append(out)
            counts.append(1)
    return max(counts) / len(outputs)


def case_agreement(outputs: Mapping[str, Sequence[object]]) -> dict[str, float]:
    """Agreement of each case's repeats, keyed by case id."""
    return {case: agreement(repeats) for case, repeats in outputs.items()}


def _check_cases(results: Mapping[str, Sequence[object]], what: str) -> None:
    if not results:
        raise StatisticsError(f"{what} needs at least one case, got none")
    for case, repeats in results.items():
        if len(repeats) == 0:
            raise StatisticsError(f"{what}: case {case!r} has no repeats", hint="drop cases that never ran")


def _check_k(results: Repeats, k: int, what: str) -> None:
    _check_cases(results, what)
    if k < 1:
        raise StatisticsError(f"{what}: k must be >= 1, got {k}")
    short = [case for case, repeats in results.items() if len(repeats) < k]
    if short:
        raise StatisticsError(
            f"{what}: k={k} exceeds the repeats of {len(short)} case(s), e.g. {short[0]!r}",
            hint=f"run with at least {k} repeats, or ask for a smaller k",
        )


def _average(values: list[Fraction]) -> float:
    # Averaged in exact rationals and rounded once, so monotone relations between estimators survive.
    return float(sum(values, Fraction(0)) / len(values))


def pass_at_k(results: Repeats, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): mean over cases of ``1 - C(n-c, k) / C(n, k)``.

    The chance that at least one of k repeats drawn without replacement passes; needs n >= k per case.
    """
    _check_k(results, k, "pass@k")
    per_case = []
    for repeats in results.values():
        n, c = len(repeats), sum(1 for r in repeats if r)
        per_case.append(1 - Fraction(math.comb(n - c, k), math.comb(n, k)))
    return _average(per_case)


def pass_hat_k(results: Repeats, k: int) -> float:
    """pass^k: mean over cases of ``C(c, k) / C(n, k)``, the chance that k drawn repeats all pass."""
    _check_k(results, k, "pass^k")
    per_case = []
    for repeats in results.values():
        n, c = len(repeats), sum(1 for r in repeats if r)
        per_case.append(Fraction(math.comb(c, k), math.comb(n, k)))
    return _average(per_case)


def all_pass_rate(results: Repeats) -> float:
    """Share of cases whose every repeat passed (the plain, unestimated "all k pass")."""
    _check_cases(results, "all_pass_rate")
    return sum(1 for repeats in results.values() if all(repeats)) / len(results)


def flipped_cases(results: Repeats) -> list[str]:
    """Ids of cases whose repeats disagree on pass/fail, in input order."""
    return [case for case, repeats in results.items() if any(repeats) and not all(repeats)]


def flip_rate(results: Repeats) -> float:
    """Share of cases whose repeats disagree on pass/fail, among cases with at least two repeats.

    A case run once cannot flip, so counting it would only dilute the rate; with no such case it is 0.
    """
    _check_cases(results, "flip_rate")
    repeated = {case: r for case, r in results.items() if len(r) >= 2}
    return len(flipped_cases(repeated)) / len(repeated) if repeated else 0.0


@dataclass(frozen=True, slots=True)
class StabilityReport:
    """Stability of one run's repeats: ``pass_at_k``/``pass_hat_k`` map k to the estimate."""

    n_cases: int
    min_repeats: int
    mean_agreement: float
    pass_at_k: dict[int, float]
    pass_hat_k: dict[int, float]
    all_pass_rate: float
    flip_rate: float
    flipped: tuple[str, ...]


def stability_report(results: Repeats, ks: Sequence[int] | None = None) -> StabilityReport:
    """All stability figures at once; ``ks`` defaults to 1 .. the smallest repeat count."""
    _check_cases(results, "stability_report")
    min_repeats = min(len(r) for r in results.values())
    chosen = sorted(set(ks)) if ks is not None else list(range(1, min_repeats + 1))
    agreements = case_agreement(results)
    return StabilityReport(
        n_cases=len(results),
        min_repeats=min_repeats,
        mean_agreement=math.fsum(agreements.values()) / len(agreements),
        pass_at_k={k: pass_at_k(results, k) for k in chosen},
        pass_hat_k={k: pass_hat_k(results, k) for k in chosen},
        all_pass_rate=all_pass_rate(results),
        flip_rate=flip_rate(results),
        flipped=tuple(flipped_cases(results)),
    )
