"""Not worse than live: ``accuracy >= live - 0.02`` judged on the paired interval of candidate minus live.

The two versions are paired by case (a case passes when most of its repeats pass). Proportions use Newcombe's
paired interval, the mean score and p95 latency a paired bootstrap. A criterion holds when the interval's
pessimistic bound meets the margin. With several such criteria (metrics or slices), Holm's step-down decides:
the criterion with the strongest evidence is judged at confidence ``1 − α/m``, the next at ``1 − α/(m − 1)`` …,
and once one fails the rest are not claimed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from andon.config.criteria import Criterion
from andon.evals.model import Case, CellResult, CriterionResult
from andon.evals.multiple import holm_levels
from andon.evals.slices import codes_field, slice_members
from andon.evals.stats import bootstrap_indices, newcombe_paired_interval, quantile
from andon.evals.summarize import CONFIDENCE, resamples_for
from andon.messages import t

__all__ = ["judge_noninferiority", "paired_bound"]

Bound = Callable[[float], tuple[float, float, float]]  # confidence -> (delta, low, high)


@dataclass(frozen=True, slots=True)
class _Test:
    criterion: Criterion
    n: int
    bound: Bound | None  # None: no shared case measured it


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _per_case(cells: Sequence[CellResult]) -> dict[str, list[CellResult]]:
    grouped: dict[str, list[CellResult]] = defaultdict(list)
    for cell in cells:
        if not cell.failed_to_run:
            grouped[cell.case_id].append(cell)
    return grouped


def _proportion_bound(live: list[bool], new: list[bool]) -> Bound:
    both = sum(x and y for x, y in zip(live, new, strict=True))
    broken = sum(x and not y for x, y in zip(live, new, strict=True))
    fixed = sum(y and not x for x, y in zip(live, new, strict=True))
    neither = len(live) - both - broken - fixed
    return lambda confidence: newcombe_paired_interval(both, broken, fixed, neither, confidence)


def _bootstrap_bound(live: list[float], new: list[float], statistic: Callable[[Sequence[float]], float]) -> Bound:
    diffs = sorted(
        statistic([new[i] for i in idx]) - statistic([live[i] for i in idx])
        for idx in bootstrap_indices(len(live), resamples_for(len(live)), seed=5)
    )
    delta = statistic(new) - statistic(live)

    def bound(confidence: float) -> tuple[float, float, float]:
        tail = (1.0 - confidence) / 2.0
        return delta, min(delta, quantile(diffs, tail)), max(delta, quantile(diffs, 1.0 - tail))

    return bound


def paired_bound(
    metric: str, live_cells: Sequence[CellResult], new_cells: Sequence[CellResult], cases: set[str] | None = None
) -> tuple[int, Bound | None]:
    """Pairs measured and the interval of ``metric`` (new minus live) as a function of the confidence."""
    live, new = _per_case(live_cells), _per_case(new_cells)
    shared = sorted((live.keys() & new.keys()) if cases is None else (live.keys() & new.keys() & cases))
    if metric == "accuracy":
        shared = [k for k in shared if live[k][0].expected_label is not None]
    if not shared:
        return 0, None
    if metric in ("pass_rate", "accuracy"):

        def ok(cells: list[CellResult]) -> bool:
            if metric == "pass_rate":
                return _mean([c.passed for c in cells]) >= 0.5
            return _mean([c.predicted_label == c.expected_label for c in cells]) >= 0.5

        return len(shared), _proportion_bound([ok(live[k]) for k in shared], [ok(new[k]) for k in shared])
    if metric == "mean_score":
        a = [_mean([c.score for c in live[k]]) for k in shared]
        b = [_mean([c.score for c in new[k]]) for k in shared]
        return len(shared), _bootstrap_bound(a, b, _mean)
    a = [_mean([c.latency_ms for c in live[k]]) for k in shared]
    b = [_mean([c.latency_ms for c in new[k]]) for k in shared]
    return len(shared), _bootstrap_bound(a, b, lambda v: quantile(v, 0.95))


def _judged(criterion: Criterion, values: tuple[float, float, float]) -> float:
    return values[1] if criterion.higher_is_better else values[2]


def _evidence(test: _Test) -> float:
    """The smallest α at which the criterion still holds (a p-value by bisection on the confidence); 1 if never."""
    if test.bound is None:
        return 1.0
    bound, criterion = test.bound, test.criterion
    if not criterion.holds(_judged(criterion, bound(1e-9))):
        return 1.0
    low, high = 1e-9, 1.0 - 1e-12  # holds at low; find where it stops holding
    if criterion.holds(_judged(criterion, bound(high))):
        return 1.0 - high
    for _ in range(50):
        mid = (low + high) / 2.0
        if criterion.holds(_judged(criterion, bound(mid))):
            low = mid
        else:
            high = mid
    return 1.0 - low


def judge_noninferiority(
    criteria: Sequence[Criterion],
    live_name: str,
    live_cells: Sequence[CellResult],
    new_cells: Sequence[CellResult],
    cases: Sequence[Case],
) -> list[CriterionResult]:
    """Judge each ``… live …`` criterion on the paired interval; several at once under Holm, in the given order."""
    members = slice_members(cases, codes_field(cases))
    tests = []
    for criterion in criteria:
        chosen = None
        if criterion.slice_key is not None:
            chosen = members.get((criterion.slice_key, criterion.slice_value or ""), set())
        n, bound = paired_bound(criterion.metric, live_cells, new_cells, chosen)
        tests.append(_Test(criterion, n, bound))
    alpha = 1.0 - CONFIDENCE
    order = sorted(range(len(tests)), key=lambda i: _evidence(tests[i]))
    levels = holm_levels(len(tests), alpha)
    results: dict[int, CriterionResult] = {}
    stopped = False
    for rank, i in enumerate(order):
        results[i] = _result(tests[i], live_name, levels[rank], len(tests), stopped)
        stopped = stopped or not results[i].passed
    return [results[i] for i in range(len(tests))]


def _result(test: _Test, live_name: str, level: float, m: int, stopped: bool) -> CriterionResult:
    c = test.criterion
    unit = "ms" if c.metric.endswith("latency_ms") else ""
    if test.bound is None:
        return CriterionResult(
            c.text, c.key, c.op, c.threshold, None, None, None, None, "estimate", False, unit,
            note=t("evalcal.live.no_pairs", live=live_name),
        )  # fmt: skip
    confidence = CONFIDENCE if m == 1 else 1.0 - level  # one criterion: exactly the report's interval
    delta, low, high = test.bound(confidence)
    judged = _judged(c, (delta, low, high))
    note = t("evalcal.live.note", live=live_name, n=test.n, confidence=f"{confidence:.4g}")
    if m > 1:
        note += t("evalcal.live.holm", m=m)
    passed = c.holds(judged) and not stopped
    if stopped and c.holds(judged):
        note += t("evalcal.live.holm_stopped")
    return CriterionResult(
        c.text, c.key, c.op, c.threshold, delta, low, high, judged,
        "lower bound" if c.higher_is_better else "upper bound", passed, unit, note,
    )  # fmt: skip
