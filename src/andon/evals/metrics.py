"""Metric computations over per-case results: classification, pass rate, scores, latency, unit economics.

Inputs are plain sequences (one entry per case, in the same order); nothing here reads a store or a file.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from andon.evals.stats import (
    StatisticsError,
    bootstrap_mean_interval,
    percentiles,
    wilson_interval,
)

__all__ = [
    "ClassificationReport",
    "LabelStats",
    "MetricValue",
    "PassRate",
    "UnitEconomics",
    "classification_report",
    "latency_metrics",
    "mean_score",
    "pass_rate",
    "unit_economics",
]


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One reported number with its interval (``low``/``high`` are None when no interval applies)."""

    name: str
    value: float
    low: float | None = None
    high: float | None = None
    n: int = 0
    unit: str = ""


# --- classification ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelStats:
    """Precision, recall and F1 of one label; ``support`` cases truly carry it, ``predicted`` were given it."""

    label: Hashable
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True, slots=True)
class ClassificationReport:
    """Accuracy (with Wilson interval), per-label and macro precision/recall/F1, and the confusion matrix.

    ``confusion[i][j]`` counts cases whose true label is ``labels[i]`` and predicted label ``labels[j]``.
    """

    labels: tuple[Hashable, ...]
    per_label: tuple[LabelStats, ...]
    macro_labels: tuple[Hashable, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    correct: int
    n: int
    confusion: tuple[tuple[int, ...], ...]

    def metrics(self) -> list[MetricValue]:
        """The report as metric values: accuracy, macro_*, and ``precision[label]``-style per-label ones."""
        out = [
            MetricValue("accuracy", self.accuracy, self.accuracy_low, self.accuracy_high, self.n),
            MetricValue("macro_precision", self.macro_precision, n=self.n),
            MetricValue("macro_recall", self.macro_recall, n=self.n),
            MetricValue("macro_f1", self.macro_f1, n=self.n),
        ]
        for s in self.per_label:
            out.append(MetricValue(f"precision[{s.label}]", s.precision, n=s.predicted))
            out.append(MetricValue(f"recall[{s.label}]", s.recall, n=s.support))
            out.append(MetricValue(f"f1[{s.label}]", s.f1, n=self.n))
        return out


def _ordered(labels: set[Hashable]) -> list[Hashable]:
    try:
        return sorted(labels)  # type: ignore[type-var]
    except TypeError:  # mixed types such as None next to strings: still a stable order
        return sorted(labels, key=lambda x: (type(x).__name__, repr(x)))


def _ratio(num: int, den: int) -> float:
    # Zero division is defined as 0: a label never predicted has precision 0, never true has recall 0.
    return num / den if den else 0.0


def classification_report(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
) -> ClassificationReport:
    """Score predicted labels against true ones; zero divisions count as 0 (documented on ``_ratio``).

    Matrix labels are ``labels`` (in that order) followed by any other label seen, sorted, so the matrix
    always sums to n. Macro averages run over the declared ``labels`` plus every label that occurs in
    ``y_true``; a label that is only ever predicted (say an invalid output, or None for a failed call)
    already lowers the recall of the true labels and is not averaged in again as a label of its own.
    """
    if len(y_true) != len(y_pred):
        raise StatisticsError(
            f"y_true and y_pred differ in length ({len(y_true)} vs {len(y_pred)})",
            hint="give one predicted label per case, None for a failed call",
        )
    n = len(y_true)
    if n == 0:
        raise StatisticsError("classification_report needs at least one case, got none")
    declared = list(dict.fromkeys(labels or ()))
    seen = set(y_true) | set(y_pred)
    order = declared + _ordered(seen - set(declared))
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[index[t]][index[p]] += 1

    per_label = []
    for i, label in enumerate(order):
        tp = matrix[i][i]
        predicted = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label.append(LabelStats(label, precision, recall, f1, support, predicted))

    macro_set = set(declared) | set(y_true)
    macro = [s for s in per_label if s.label in macro_set]
    correct = sum(matrix[i][i] for i in range(len(order)))
    low, high = wilson_interval(correct, n, confidence)
    return ClassificationReport(
        labels=tuple(order),
        per_label=tuple(per_label),
        macro_labels=tuple(s.label for s in macro),
        macro_precision=math.fsum(s.precision for s in macro) / len(macro),
        macro_recall=math.fsum(s.recall for s in macro) / len(macro),
        macro_f1=math.fsum(s.f1 for s in macro) / len(macro),
        accuracy=correct / n,
        accuracy_low=low,
        accuracy_high=high,
        correct=correct,
        n=n,
        confusion=tuple(tuple(row) for row in matrix),
    )


# --- pass rate and scores ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PassRate:
    """Share of passing cases with its Wilson interval; with ``n == 0`` the rate is 0 and the interval [0, 1]."""

    rate: float
    low: float
    high: float
    n: int
    passed: int

    def metric(self, name: str = "pass_rate") -> MetricValue:
        """This pass rate as a metric value."""
        return MetricValue(name, self.rate, self.low, self.high, self.n)


def pass_rate(passes: Sequence[bool], confidence: float = 0.95) -> PassRate:
    """Pass rate of per-case pass/fail outcomes with a Wilson interval."""
    n = len(passes)
    passed = sum(1 for p in passes if p)
    low, high = wilson_interval(passed, n, confidence)
    return PassRate(rate=passed / n if n else 0.0, low=low, high=high, n=n, passed=passed)


def mean_score(scores: Sequence[float], name: str = "score", confidence: float = 0.95, seed: int = 0) -> MetricValue:
    """Mean of per-case scores with a percentile-bootstrap interval (deterministic for a seed)."""
    value, low, high = bootstrap_mean_interval(scores, confidence, seed=seed)
    return MetricValue(name, value, low, high, len(scores))


def latency_metrics(latencies_ms: Sequence[float]) -> list[MetricValue]:
    """Latency p50/p90/p95/p99/mean/max in milliseconds as ``latency_<stat>`` metric values."""
    summary = percentiles(latencies_ms)
    return [MetricValue(f"latency_{k}", v, n=len(latencies_ms), unit="ms") for k, v in summary.items()]


# --- unit economics ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitEconomics:
    """Tokens and cost per case and per 1,000 calls; cost fields are None unless every case's cost is known."""

    n_cases: int
    n_calls: int
    currency: str
    cost_total: float | None
    cost_per_case: float | None
    cost_per_1k_calls: float | None
    cost_unknown: int
    tokens_in_per_case: float | None
    tokens_out_per_case: float | None
    tokens_in_per_1k_calls: float | None
    tokens_out_per_1k_calls: float | None

    def metrics(self) -> list[MetricValue]:
        """The known figures as metric values (units: the currency, or ``tokens``)."""
        rows = [
            ("cost_per_case", self.cost_per_case, self.currency, self.n_cases),
            ("cost_per_1k_calls", self.cost_per_1k_calls, self.currency, self.n_calls),
            ("tokens_in_per_case", self.tokens_in_per_case, "tokens", self.n_cases),
            ("tokens_out_per_case", self.tokens_out_per_case, "tokens", self.n_cases),
            ("tokens_in_per_1k_calls", self.tokens_in_per_1k_calls, "tokens", self.n_calls),
            ("tokens_out_per_1k_calls", self.tokens_out_per_1k_calls, "tokens", self.n_calls),
        ]
        return [MetricValue(name, v, n=n, unit=unit) for name, v, unit, n in rows if v is not None]


def unit_economics(
    costs: Sequence[float | None],
    tokens_in: Sequence[int],
    tokens_out: Sequence[int],
    n_calls: int,
    currency: str = "USD",
) -> UnitEconomics:
    """Unit economics of a run: per-case sequences (cost already in ``currency``) and the total call count.

    ``n_calls`` counts provider calls, which may exceed the cases when a version has several steps.
    A case whose cost is None (no price known) makes every cost figure None rather than an undercount.
    """
    n_cases = len(costs)
    if len(tokens_in) != n_cases or len(tokens_out) != n_cases:
        raise StatisticsError(
            f"costs, tokens_in and tokens_out differ in length ({n_cases}, {len(tokens_in)}, {len(tokens_out)})",
            hint="give one entry per case",
        )
    if n_calls < 0:
        raise StatisticsError(f"n_calls must be >= 0, got {n_calls}")
    known = [c for c in costs if c is not None]
    unknown = n_cases - len(known)
    total = math.fsum(known) if n_cases and not unknown else None
    sum_in, sum_out = sum(tokens_in), sum(tokens_out)

    def per_case(x: float | None) -> float | None:
        return x / n_cases if x is not None and n_cases else None

    def per_1k(x: float | None) -> float | None:
        return x * 1000 / n_calls if x is not None and n_calls else None

    return UnitEconomics(
        n_cases=n_cases,
        n_calls=n_calls,
        currency=currency,
        cost_total=total,
        cost_per_case=per_case(total),
        cost_per_1k_calls=per_1k(total),
        cost_unknown=unknown,
        tokens_in_per_case=per_case(sum_in),
        tokens_out_per_case=per_case(sum_out),
        tokens_in_per_1k_calls=per_1k(sum_in),
        tokens_out_per_1k_calls=per_1k(sum_out),
    )
