"""Retrieval figures in a paired comparison: two versions differing in chunker or retrieve settings, on cases
that carry ``relevant:``. Each case's recall@k, precision@k, MRR and nDCG@k are paired across the versions
(paired bootstrap interval, sign-flip permutation p, the test compare uses for scores); the hit rate is a
paired proportion (Newcombe interval, McNemar exact p, as the pass rate)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from andon.evals.model import CellResult, MetricDelta
from andon.evals.retrieval import FIGURES, GRADER
from andon.evals.stats import mcnemar_exact, newcombe_paired_interval, paired_bootstrap_diff, paired_permutation_test
from andon.evals.summarize import CONFIDENCE, resamples_for

__all__ = ["case_figures", "retrieval_deltas"]


def case_figures(cells: Sequence[CellResult]) -> dict[str, float] | None:
    """One case's retrieval figures, the mean over its repeats; None when no cell was judged for retrieval."""
    rows = [g.figures for c in cells for g in c.grades if g.grader == GRADER and g.figures is not None]
    if not rows:
        return None
    return {name: math.fsum(float(r[name]) for r in rows) / len(rows) for name in FIGURES}


def retrieval_deltas(
    shared: Sequence[str], a_cases: Mapping[str, Sequence[CellResult]], b_cases: Mapping[str, Sequence[CellResult]]
) -> list[MetricDelta]:
    """``retrieval_<figure>`` B minus A over the shared cases both sides judged for retrieval; [] when none."""
    a_figures = {k: case_figures(a_cases[k]) for k in shared}
    b_figures = {k: case_figures(b_cases[k]) for k in shared}
    paired = [(a, b) for k in shared if (a := a_figures[k]) is not None and (b := b_figures[k]) is not None]
    if not paired:
        return []
    deltas: list[MetricDelta] = []
    for name in FIGURES:
        a_values = [a[name] for a, _ in paired]
        b_values = [b[name] for _, b in paired]
        if name == "hit_rate":
            deltas.append(_hits(a_values, b_values))
            continue
        diff, low, high, _ = paired_bootstrap_diff(
            a_values, b_values, CONFIDENCE, n_resamples=resamples_for(len(paired)), seed=5
        )
        p = paired_permutation_test(a_values, b_values, seed=7)
        deltas.append(
            MetricDelta(
                f"retrieval_{name}", _mean(a_values), _mean(b_values), diff, low, high, p,
                "paired bootstrap; sign-flip permutation",
            )
        )  # fmt: skip
    return deltas


def _hits(a_values: Sequence[float], b_values: Sequence[float]) -> MetricDelta:
    # A case hits when most of its repeats found a relevant chunk, as a case passes when most repeats pass.
    a_hit = [v >= 0.5 for v in a_values]
    b_hit = [v >= 0.5 for v in b_values]
    both = sum(x and y for x, y in zip(a_hit, b_hit, strict=True))
    lost = sum(x and not y for x, y in zip(a_hit, b_hit, strict=True))
    gained = sum(y and not x for x, y in zip(a_hit, b_hit, strict=True))
    neither = len(a_hit) - both - lost - gained
    delta, low, high = newcombe_paired_interval(both, lost, gained, neither, CONFIDENCE)
    return MetricDelta(
        "retrieval_hit_rate", _mean([float(x) for x in a_hit]), _mean([float(y) for y in b_hit]), delta, low, high,
        mcnemar_exact(lost, gained), "Newcombe; McNemar exact",
    )  # fmt: skip


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)
