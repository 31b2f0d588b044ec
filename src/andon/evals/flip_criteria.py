"""``flip_rate[typo] <= 0.05`` in criteria: a robustness run's flip rate per perturbation, judged like any metric.

Plain ``flip_rate`` stays the repeats' disagreement; with a perturbation in brackets (``flip_rate[any]``: flipped
under at least one) it is the share of original/perturbed pairs whose answers differ, with its Wilson interval,
so ``strict`` judges the upper bound as it does every other lower-is-better metric. ``andon eval`` judges them on
the suite it runs beside the plain run; a stored robustness run's report judges its own pairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from andon.config.criteria import FLIP_ANY, flip_metric_name
from andon.config.schema import FeatureConfig
from andon.evals.metrics import MetricValue
from andon.evals.model import Case, CellResult, VersionSummary
from andon.evals.robustness import ANY, Pair, RobustnessReport, flip_report
from andon.evals.summarize import judge_criteria
from andon.store.records import RunRecord

__all__ = ["add_flip_rates", "apply_flip_rates"]

KEY = "robustness"  # where a robustness run records its pairs (andon.evals.robust_run)


def add_flip_rates(
    run: RunRecord,
    summaries: Sequence[VersionSummary],
    cells: Sequence[CellResult],
    cases: Sequence[Case],
    feature: FeatureConfig,
) -> None:
    """For a robustness run: each version's ``flip_rate[PERTURBATION]`` in its summary, criteria judged again."""
    recorded = run.config.get(KEY)
    if not isinstance(recorded, dict):
        return
    pairs = [Pair.from_json(case_id, data) for case_id, data in (recorded.get("pairs") or {}).items()]
    apply_flip_rates(summaries, flip_report(run.id, int(recorded.get("seed", 0)), pairs, run.versions, cells, cases),
                     feature)  # fmt: skip


def apply_flip_rates(summaries: Sequence[VersionSummary], report: RobustnessReport, feature: FeatureConfig) -> None:
    """Put the suite's flip rates in the summaries of the same versions (by name) and judge their criteria again."""
    for summary in summaries:
        rates = [r for r in report.rates if r.version_name == summary.version_name and r.pairs]
        if len(rates) == 1:  # one perturbation: "flipped under any" is that one (the suite adds no "*" row)
            rates.append(dataclasses.replace(rates[0], perturbation=ANY))
        for rate in rates:
            name = flip_metric_name(FLIP_ANY if rate.perturbation == ANY else rate.perturbation)
            summary.metrics[name] = MetricValue(name, rate.rate, rate.low, rate.high, rate.pairs)
        judge_criteria(summary, feature)
