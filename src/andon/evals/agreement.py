"""Agreement between people who labelled the same cases: Cohen's kappa for two, Fleiss' kappa and
Krippendorff's alpha (nominal) for more, each with a percentile-bootstrap interval over cases.

References for the worked examples the tests reproduce:
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5),
378–382 — Table 1 (30 patients, 6 psychiatrists each, 5 diagnoses): kappa = .430.
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School for Communication,
University of Pennsylvania — section C (4 observers, 12 units, missing values, nominal): alpha = .743.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from andon.evals.guideline import Guideline
from andon.evals.model import Case
from andon.evals.stats import bootstrap_indices, cohen_kappa, quantile

__all__ = [
    "AgreementReport",
    "AgreementValue",
    "fleiss_kappa",
    "krippendorff_alpha",
    "label_agreement",
    "rating_counts",
]

CONFIDENCE = 0.95
_U = TypeVar("_U")


def rating_counts(units: Sequence[Sequence[Hashable]]) -> tuple[list[Hashable], list[list[int]]]:
    """The categories used (sorted by their text) and, per unit, how many raters chose each."""
    categories = sorted({v for unit in units for v in unit}, key=str)
    index = {c: i for i, c in enumerate(categories)}
    counts = []
    for unit in units:
        row = [0] * len(categories)
        for v in unit:
            row[index[v]] += 1
        counts.append(row)
    return categories, counts


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa of a units × categories table of counts, the same number of ratings (≥ 2) in every row.

    None when it is undefined: no units, or every rating in one category (chance agreement is then 1).
    Fleiss (1971), Table 1, gives .430; the tests reproduce it.
    """
    if not counts:
        return None
    raters = sum(counts[0])
    if raters < 2 or any(sum(row) != raters for row in counts):
        raise ValueError("fleiss_kappa needs the same number (at least 2) of ratings for every unit")
    n_units = len(counts)
    # Exact rationals: perfect agreement is exactly 1, and the example's .430 is not a rounding accident.
    observed = (
        sum((Fraction(sum(x * x for x in row) - raters, raters * (raters - 1)) for row in counts), Fraction(0))
        / n_units
    )
    shares = [Fraction(sum(row[j] for row in counts), n_units * raters) for j in range(len(counts[0]))]
    chance = sum((p * p for p in shares), Fraction(0))
    if chance == 1:
        return None
    return float((observed - chance) / (1 - chance))


def krippendorff_alpha(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data; each unit lists the values it was given (missing ones left out).

    Units with fewer than two values are not pairable and count for nothing. None when undefined (fewer
    than two pairable values, or a single value used throughout). Krippendorff (2011) gives .743.
    """
    pairable = [list(u) for u in units if len(u) >= 2]
    # Coincidences: within a unit of m values each ordered pair of different positions weighs 1 / (m - 1).
    disagree = Fraction(0)
    totals: Counter[Hashable] = Counter()
    for unit in pairable:
        m = len(unit)
        seen = Counter(unit)
        totals.update(seen)
        disagree += Fraction(m * m - sum(c * c for c in seen.values()), m - 1)
    n = sum(totals.values())
    if n < 2:
        return None
    expected = Fraction(n * n - sum(c * c for c in totals.values()), 1)
    if expected == 0:
        return None
    return float(1 - (n - 1) * disagree / expected)


@dataclass(frozen=True, slots=True)
class AgreementValue:
    """One agreement statistic over ``n`` cases, with its bootstrap interval (None bounds: undefined)."""

    method: str  # cohen_kappa | fleiss_kappa | krippendorff_alpha
    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass
class AgreementReport:
    """How far the people who labelled a dataset agree, and under which guideline."""

    raters: list[str]
    n_cases: int  # cases in the dataset
    n_labelled: int  # cases with labels from two people or more
    values: list[AgreementValue] = field(default_factory=list)
    guideline: Guideline | None = None
    disagreements: list[str] = field(default_factory=list)  # ids of cases the labellers split on


def _interval(
    units: Sequence[_U], statistic: Callable[[Sequence[_U]], float | None], confidence: float, resamples: int, seed: int
) -> tuple[float | None, float | None]:
    values = []
    for idx in bootstrap_indices(len(units), resamples, seed):
        value = statistic([units[i] for i in idx])
        if value is not None:  # a resample of one category says nothing about agreement beyond chance
            values.append(value)
    if not values:
        return None, None
    values.sort()
    tail = (1 - confidence) / 2
    return quantile(values, tail), quantile(values, 1 - tail)


def _value(
    method: str, units: Sequence[_U], statistic: Callable[[Sequence[_U]], float | None], confidence: float,
    resamples: int, seed: int,
) -> AgreementValue:  # fmt: skip
    point = statistic(units) if units else None
    low, high = (None, None) if point is None else _interval(units, statistic, confidence, resamples, seed)
    return AgreementValue(method, point, low, high, len(units))


def _cohen(pairs: Sequence[tuple[str, str]]) -> float | None:
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    if len({*a, *b}) < 2:
        return None  # cohen_kappa calls a single shared label 1.0; here it is "not measurable", as for Fleiss
    return cohen_kappa(a, b)


def _fleiss(units: Sequence[list[str]]) -> float | None:
    return fleiss_kappa(rating_counts(units)[1]) if units else None


def label_agreement(
    cases: Sequence[Case], *, guideline: Guideline | None = None, confidence: float = CONFIDENCE,
    n_resamples: int = 2000, seed: int = 0,
) -> AgreementReport:  # fmt: skip
    """Agreement over the cases' ``labels``: Cohen's kappa with two labellers, Fleiss' kappa with more (on the
    cases labelled by the usual number of people), Krippendorff's alpha always (it allows missing labels)."""
    raters = sorted({r for c in cases for r in c.labels})
    labelled = [c for c in cases if len(c.labels) >= 2]
    report = AgreementReport(raters, len(cases), len(labelled), guideline=guideline)
    report.disagreements = [c.id for c in labelled if len(set(c.labels.values())) > 1]
    if len(raters) == 2:
        first, second = raters
        pairs = [(c.labels[first], c.labels[second]) for c in labelled]
        report.values.append(_value("cohen_kappa", pairs, _cohen, confidence, n_resamples, seed))
    elif len(raters) > 2 and labelled:
        usual = Counter(len(c.labels) for c in labelled).most_common(1)[0][0]
        units = [list(c.labels.values()) for c in labelled if len(c.labels) == usual]
        report.values.append(_value("fleiss_kappa", units, _fleiss, confidence, n_resamples, seed))
    if len(raters) >= 2:
        units = [list(c.labels.values()) for c in labelled]
        report.values.append(_value("krippendorff_alpha", units, krippendorff_alpha, confidence, n_resamples, seed))
    return report
