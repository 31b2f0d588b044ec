"""``flip_rate[typo] <= 0.05`` in criteria: a robustness run's flip rate per perturbation, judged like any metric.

Plain ``flip_rate`` stays the repeats' disagreement; with a perturbation in brackets (``flip_rate[any]``: flipped
under at least one) it is the share of original/perturbed pairs whose answers differ, with its Wilson interval,
so ``strict`` judges the upper bound as it does every other lower-is-better metric.
"""

from __future__ import annotations

from collections.abc import Sequence

from andon.config.criteria import FLIP_ANY, flip_metric_name
from andon.config.schema import FeatureConfig
from andon.evals.metrics import MetricValue
from andon.evals.model import Case, CellResult, VersionSummary
from andon.evals.robustness import ANY, Pair, flip_report
from andon.evals.summarize import judge_criteria
from andon.store.records import RunRecord

__all__ = ["add_flip_rates"]

KEY = "robustness"  # where a robustness run records its pairs (andon.evals.robust_run)


def add_flip_rates(
    run: RunRecord, summaries: Sequence[VersionSummary], cells: Sequence[CellResult], cases: Sequence[Case],
    feature: FeatureConfig,
) -> None:
    """Put each version's ``flip_rate[PERTURBATION]`` metrics in its summary and judge the criteria again."""
    recorded = run.config.get(KEY)
    if not isinstance(recorded, dict):
        return
    pairs = [Pair.from_json(case_id, data) for case_id, data in (recorded.get("pairs") or {}).items()]
    report = flip_report(run.id, int(recorded.get("seed", 0)), pairs, run.versions, cells, cases)
    for summary in summaries:
        for rate in report.rates:
            if rate.version_name != summary.version_name or not rate.pairs:
                continue
            name = flip_metric_name(FLIP_ANY if rate.perturbation == ANY else rate.perturbation)
            summary.metrics[name] = MetricValue(name, rate.rate, rate.low, rate.high, rate.pairs)
        judge_criteria(summary, feature)
