"""Paired comparison of two versions by case: deltas with intervals, McNemar, a score test, flips, a verdict.

The primary metric is the pass rate per case (a case passes when most of its repeats pass), tested with
McNemar's exact test on the discordant pairs. Only when that cannot tell (p ≥ α) does the mean score per case
decide, by an exact or Monte-Carlo paired sign-flip permutation test. The comparison records which test
decided (``decided_by``) and its p-value, and every report's verdict line names that test. Cells a grader
could not grade measured nothing and are left out of the pairing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

from andon.evals.compare_retrieval import retrieval_deltas
from andon.evals.model import CellResult, Comparison, FlippedCase, MetricDelta
from andon.evals.stats import (
    QuantileOf,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap_diff,
    paired_permutation_test,
)
from andon.evals.summarize import CONFIDENCE, resamples_for


def _per_case(cells: Sequence[CellResult]) -> dict[str, list[CellResult]]:
    grouped: dict[str, list[CellResult]] = defaultdict(list)
    for cell in cells:
        grouped[cell.case_id].append(cell)
    for group in grouped.values():
        group.sort(key=lambda c: c.repeat)
    return grouped


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def compare_cells(
    a_name: str,
    a_version_id: str,
    a_cells: Sequence[CellResult],
    b_name: str,
    b_version_id: str,
    b_cells: Sequence[CellResult],
    alpha: float = 0.05,
) -> Comparison:
    """Compare B against A on the cases both have. A case passes when it passes in most of its repeats."""
    every = {c.case_id for c in a_cells} & {c.case_id for c in b_cells}
    a_cases = _per_case([c for c in a_cells if c.counts])
    b_cases = _per_case([c for c in b_cells if c.counts])
    shared = sorted(a_cases.keys() & b_cases.keys())
    a_pass = [_mean([c.passed for c in a_cases[k]]) >= 0.5 for k in shared]
    b_pass = [_mean([c.passed for c in b_cases[k]]) >= 0.5 for k in shared]
    a_score = [_mean([c.score for c in a_cases[k]]) for k in shared]
    b_score = [_mean([c.score for c in b_cases[k]]) for k in shared]
    both = sum(x and y for x, y in zip(a_pass, b_pass, strict=True))
    broken = sum(x and not y for x, y in zip(a_pass, b_pass, strict=True))
    fixed = sum(y and not x for x, y in zip(a_pass, b_pass, strict=True))
    neither = len(shared) - both - broken - fixed
    p_mcnemar = mcnemar_exact(broken, fixed)
    deltas: list[MetricDelta] = []
    if shared:
        delta, low, high = newcombe_paired_interval(both, broken, fixed, neither, CONFIDENCE)
        deltas.append(
            MetricDelta(
                "pass_rate", _mean(a_pass), _mean(b_pass), delta, low, high, p_mcnemar, "Newcombe; McNemar exact"
            )
        )
        accuracy = _accuracy_delta(shared, a_cases, b_cases)
        if accuracy is not None:
            deltas.append(accuracy)
        deltas.append(_bootstrap("mean_score", a_score, b_score, _mean, "paired bootstrap; sign-flip permutation"))
        deltas.append(
            _bootstrap(
                "p95_latency_ms",
                [_mean([c.latency_ms for c in a_cases[k]]) for k in shared],
                [_mean([c.latency_ms for c in b_cases[k]]) for k in shared],
                QuantileOf(0.95),
                "paired bootstrap",
                higher_is_better=False,
            )
        )
        a_cost = [[c.cost for c in a_cases[k]] for k in shared]
        b_cost = [[c.cost for c in b_cases[k]] for k in shared]
        if all(x is not None for g in a_cost + b_cost for x in g):
            deltas.append(
                _bootstrap(
                    "cost_per_case",
                    [_mean([x or 0.0 for x in g]) for g in a_cost],
                    [_mean([x or 0.0 for x in g]) for g in b_cost],
                    _mean,
                    "paired bootstrap",
                    higher_is_better=False,
                )
            )
        deltas.extend(retrieval_deltas(shared, a_cases, b_cases))  # cases with `relevant:` only
    score_p = paired_permutation_test(a_score, b_score, seed=7) if shared else None
    flipped = [
        FlippedCase(
            case_id=k,
            change="fixed" if y else "broken",
            a_output=a_cases[k][0].output_text if a_cases[k][0].status == "ok" else f"error: {a_cases[k][0].error}",
            b_output=b_cases[k][0].output_text if b_cases[k][0].status == "ok" else f"error: {b_cases[k][0].error}",
            a_score=sa,
            b_score=sb,
        )
        for k, x, y, sa, sb in zip(shared, a_pass, b_pass, a_score, b_score, strict=True)
        if x != y
    ]
    flipped.sort(key=lambda f: (f.change != "broken", f.case_id))
    verdict, text, decided_by = _verdict(
        a_name, b_name, broken, fixed, p_mcnemar, score_p, a_score, b_score, alpha, len(shared)
    )
    return Comparison(
        a_name=a_name,
        a_version_id=a_version_id,
        b_name=b_name,
        b_version_id=b_version_id,
        n_pairs=len(shared),
        alpha=alpha,
        deltas=deltas,
        mcnemar_b=broken,
        mcnemar_c=fixed,
        mcnemar_p=p_mcnemar,
        score_p=score_p,
        flipped=flipped,
        verdict=verdict,
        verdict_text=text,
        decided_by=decided_by,
        decided_p={"mcnemar": p_mcnemar, "permutation": score_p}.get(decided_by or ""),
        left_out=len(every) - len(shared),
    )


def _accuracy_delta(
    shared: list[str], a_cases: dict[str, list[CellResult]], b_cases: dict[str, list[CellResult]]
) -> MetricDelta | None:
    labelled = [k for k in shared if a_cases[k][0].expected_label is not None]
    if not labelled:
        return None
    a_ok = [_mean([c.predicted_label == c.expected_label for c in a_cases[k]]) >= 0.5 for k in labelled]
    b_ok = [_mean([c.predicted_label == c.expected_label for c in b_cases[k]]) >= 0.5 for k in labelled]
    n11 = sum(x and y for x, y in zip(a_ok, b_ok, strict=True))
    n10 = sum(x and not y for x, y in zip(a_ok, b_ok, strict=True))
    n01 = sum(y and not x for x, y in zip(a_ok, b_ok, strict=True))
    n00 = len(labelled) - n11 - n10 - n01
    delta, low, high = newcombe_paired_interval(n11, n10, n01, n00, CONFIDENCE)
    return MetricDelta(
        "accuracy", _mean(a_ok), _mean(b_ok), delta, low, high, mcnemar_exact(n10, n01), "Newcombe; McNemar exact"
    )


def _bootstrap(
    name: str,
    a: list[float],
    b: list[float],
    statistic: Callable[[Sequence[float]], float],
    method: str,
    higher_is_better: bool = True,
) -> MetricDelta:
    diff, low, high, p = paired_bootstrap_diff(
        a, b, CONFIDENCE, n_resamples=resamples_for(len(a)), seed=5, statistic=statistic
    )
    return MetricDelta(name, statistic(a), statistic(b), diff, low, high, p, method, higher_is_better)


def _verdict(
    a_name: str,
    b_name: str,
    broken: int,
    fixed: int,
    p_mcnemar: float,
    score_p: float | None,
    a_score: list[float],
    b_score: list[float],
    alpha: float,
    n: int,
) -> tuple[str, str, str | None]:
    """Pass/fail decides first (McNemar); when pass/fail cannot tell, the score test may: (verdict, text, test)."""
    if n == 0:
        return "no detectable difference", f"no shared cases between {a_name} and {b_name}: nothing to compare", None
    if p_mcnemar < alpha:
        better = fixed > broken
        word = "better" if better else "worse"
        return (
            word,
            (
                f"{b_name} is {word} than {a_name}: {fixed} cases fixed, {broken} broken of {n} "
                f"(McNemar exact p = {p_mcnemar:.3g} < α = {alpha:g})"
            ),
            "mcnemar",
        )
    if score_p is not None and score_p < alpha and a_score != b_score:
        better = _mean(b_score) > _mean(a_score)
        word = "better" if better else "worse"
        return (
            word,
            (
                f"{b_name} scores {word} than {a_name} (mean score {_mean(a_score):.3f} → {_mean(b_score):.3f}, "
                f"permutation p = {score_p:.3g} < α = {alpha:g}); pass/fail alone could not tell "
                f"(McNemar p = {p_mcnemar:.3g})"
            ),
            "permutation",
        )
    return (
        "no detectable difference",
        (
            f"no detectable difference between {b_name} and {a_name} at α = {alpha:g} "
            f"({fixed} fixed, {broken} broken of {n}; McNemar p = {p_mcnemar:.3g})"
        ),
        None,
    )
