"""Summaries of a run: each version's metrics with honest intervals, its criteria, and judge agreement.

Intervals: with one repeat, proportions use Wilson intervals over cases. With repeats, cells of one case are
not independent, so proportions and means use a cluster bootstrap over cases. Latency percentiles use the
distribution-free order-statistic interval; cost means use a bootstrap (normal approximation past 20,000 cases).

What each figure counts: ``error_rate`` every call; ``grader_error_rate`` every output a grader could not
grade (such cells leave every quality figure, and fail the gate unless a criterion on the rate says
otherwise); quality figures (pass rate, scores, accuracy, stability) the graded cells; latency the successful
calls. A criterion on a figure with nothing under it is "no data", never a pass.

An LLM judge is trusted only with at least ``MIN_LABELLED_CASES`` human-labelled cases and the lower bound of
its kappa's 95 % interval at its ``min_kappa`` (default ``DEFAULT_MIN_KAPPA``); the gate refuses a judge with a
``min_kappa`` that is not trusted.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from statistics import NormalDist
from typing import Any

import numpy as np

from andon.config.criteria import Criterion, parse_criterion, slice_metric_name, unique_grader_names
from andon.config.schema import FeatureConfig, WorkspaceConfig
from andon.evals.graders.trajectory import GRADER as TRAJECTORY_GRADER
from andon.evals.metrics import ClassificationReport, MetricValue, classification_report, unit_economics
from andon.evals.model import (
    Case,
    CellResult,
    CriterionResult,
    ErrorGroup,
    JudgeAgreement,
    SliceSummary,
    VersionSummary,
)
from andon.evals.retrieval import FIGURES, GRADER
from andon.evals.slices import codes_field, expected_codes, predicted_codes, slice_members
from andon.evals.stability import StabilityReport, case_agreement, pass_hat_k, stability_report
from andon.evals.stats import bootstrap_index_blocks, kappa_interval, quantile, wilson_interval
from andon.messages import t

CONFIDENCE = 0.95
Put = Callable[[MetricValue], None]
_LARGE = 20_000
MIN_LABELLED_CASES = 20  # fewer human labels than this and a judge's kappa is "not measured"
DEFAULT_MIN_KAPPA = 0.6  # "substantial" agreement (Landis & Koch), the bar when a grader sets no min_kappa
FIRST_ERRORS = 3
JUDGED_TYPES = frozenset({"llm-rubric", "groundedness"})  # graders that ask an LLM judge: their kappa is measured
MAX_SLICES = 200  # a dataset with thousands of distinct tags keeps its summary (and report) readable
# Figures measured over every call, so they stay meaningful when no call succeeded.
_OVER_EVERY_CALL = {"error_rate", "grader_error_rate"}


def resamples_for(n: int) -> int:
    """Bootstrap resamples: 2,000, fewer for very large runs so a summary stays within seconds."""
    return max(200, min(2000, 4_000_000 // max(n, 1)))


def proportion(groups: Sequence[Sequence[bool]], name: str, unit: str = "") -> MetricValue:
    """A share over cells: Wilson over cases with one cell each, else a cluster bootstrap over cases."""
    cells = [x for group in groups for x in group]
    n = len(cells)
    if n == 0:
        return MetricValue(name, 0.0, 0.0, 1.0, 0, unit)
    value = sum(cells) / n
    if all(len(g) == 1 for g in groups):
        low, high = wilson_interval(sum(cells), n, CONFIDENCE)
        return MetricValue(name, value, low, high, n, unit)
    return _cluster_mean([[float(x) for x in g] for g in groups], name, unit, value)


def _cluster_mean(groups: Sequence[Sequence[float]], name: str, unit: str, value: float) -> MetricValue:
    sums = np.array([math.fsum(g) for g in groups], dtype=float)
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    stats = []
    for block in bootstrap_index_blocks(len(groups), resamples_for(len(groups)), seed=11):
        # sizes add up exactly in int64; the sums keep fsum's exact rounding, row by row. One resample's
        # values become Python floats at a time: a whole block as floats is ~50 MB (2,000,000 of them).
        for indices in block:
            total = int(sizes[indices].sum())
            stats.append(math.fsum(sums[indices].tolist()) / total if total else 0.0)
    stats.sort()
    tail = (1 - CONFIDENCE) / 2
    # sum of a numpy array is an int64, which JSON cannot write
    return MetricValue(name, value, quantile(stats, tail), quantile(stats, 1 - tail), int(sizes.sum()), unit)


def mean_interval(values: Sequence[float], name: str, unit: str = "") -> MetricValue:
    """A mean with a percentile-bootstrap interval (normal approximation for very large samples)."""
    n = len(values)
    if n == 0:
        return MetricValue(name, math.nan, None, None, 0, unit)
    value = math.fsum(values) / n
    if n == 1:
        return MetricValue(name, value, value, value, 1, unit)
    if n > _LARGE:
        sd = math.sqrt(math.fsum((v - value) ** 2 for v in values) / (n - 1))
        half = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2) * sd / math.sqrt(n)
        return MetricValue(name, value, value - half, value + half, n, unit)
    return _cluster_mean([[v] for v in values], name, unit, value)


def quantile_interval(values: Sequence[float], q: float, name: str, unit: str = "ms") -> MetricValue:
    """A quantile with the distribution-free order-statistic interval (binomial ranks)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return MetricValue(name, math.nan, None, None, 0, unit)
    z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / 2)
    spread = z * math.sqrt(n * q * (1 - q))
    lo_rank = max(0, math.floor(n * q - spread) - 1)
    hi_rank = min(n - 1, math.ceil(n * q + spread))
    return MetricValue(name, quantile(ordered, q), ordered[lo_rank], ordered[hi_rank], n, unit)


@lru_cache(maxsize=32)
def _conversion(currency: str, rates: tuple[tuple[str, Decimal], ...]) -> Conversion:
    return Conversion(currency, {name: float(rate) for name, rate in rates})


@dataclass(frozen=True)
class Conversion:
    """Converts costs into the report currency (``rates``: units of ``currency`` per unit of another)."""

    currency: str
    rates: dict[str, float]

    @classmethod
    def of(cls, config: WorkspaceConfig) -> Conversion:
        """The conversion for andon.yaml's ``currency`` and ``exchange_rates``, built once per distinct pair."""
        return _conversion(config.currency, tuple(sorted(config.exchange_rates.items())))

    def __call__(self, amount: float | None, currency: str | None) -> float | None:
        if amount is None:
            return None
        if currency is None or currency == self.currency:
            return amount
        rate = self.rates.get(currency)
        return amount * rate if rate is not None else None


def summarize_version(
    version_id: str,
    version_name: str,
    cells: Sequence[CellResult],
    cases: dict[str, Case],
    feature: FeatureConfig,
    convert: Conversion,
) -> VersionSummary:
    """Every metric, criterion and judge check for one version's cells."""
    every = _groups(cells)
    # Quality figures count only what was graded: an output no grader could grade measured nothing.
    # A cell parked at a tool call that waits for a person (engine.approval) has no answer yet: not graded either.
    groups = _groups([c for c in cells if c.counts])
    metrics: dict[str, MetricValue] = {}

    def put(metric: MetricValue) -> None:
        metrics[metric.name] = metric

    put(proportion([[c.passed for c in g] for g in groups], "pass_rate"))
    put(proportion([[c.status == "error" for c in g] for g in every], "error_rate"))
    put(proportion([[c.grading_error is not None for c in g] for g in every], "grader_error_rate"))
    put(mean_interval([c.score for g in groups for c in g], "mean_score"))
    _per_grader(feature, every, put)
    classification = _classification(groups, put)
    latencies = [c.latency_ms for c in cells if c.status == "ok"]  # a failed call's time measures the failure
    for q in (0.5, 0.9, 0.95, 0.99):
        put(quantile_interval(latencies, q, f"p{int(q * 100)}_latency_ms"))
    _economics(cells, convert, put)
    _retrieval(every, put)
    stability = _stability(groups, put)
    agent_figures(every, groups, feature.pass_k, convert, put)
    judges = _judges(feature, groups, cases)
    slices = _slices(every, groups, cases, put)
    summary = VersionSummary(
        version_id=version_id,
        version_name=version_name,
        n_cases=len(every),
        n_cells=len(cells),
        metrics=metrics,
        classification=classification,
        latencies_ms=latencies,
        stability=stability,
        criteria=[],
        judges=judges,
        gate_passed=True,
        first_errors=first_errors(cells),
        slices=slices,
    )
    judge_criteria(summary, feature)
    return summary


def _groups(cells: Sequence[CellResult]) -> list[list[CellResult]]:
    by_case: dict[str, list[CellResult]] = defaultdict(list)
    for cell in cells:
        by_case[cell.case_id].append(cell)
    for group in by_case.values():
        group.sort(key=lambda c: c.repeat)
    return list(by_case.values())


def _per_grader(feature: FeatureConfig, groups: list[list[CellResult]], put: Put) -> None:
    """``pass_rate[NAME]`` of each grader, over the outputs that grader could grade."""
    names = unique_grader_names([spec.label for spec in feature.graders])
    labels = [spec.label for spec in feature.graders]
    for index, name in enumerate(names):
        # The k-th grade carrying a label belongs to the k-th grader with that label.
        occurrence = labels[:index].count(labels[index])
        passes = []
        for group in groups:
            row = []
            for cell in group:
                grade = [g for g in cell.grades if g.grader == labels[index]][occurrence : occurrence + 1]
                if grade and not grade[0].error:
                    row.append(grade[0].passed)
            if row:
                passes.append(row)
        put(proportion(passes, f"pass_rate[{name}]"))


class ErrorTally:
    """Counts the ways cells failed to run (a failed call, a grader that could not grade), one cell at a time.

    At most ``distinct`` different messages are kept, so a run of a million distinct failures stays small.
    """

    def __init__(self, distinct: int = 100) -> None:
        self._distinct = distinct
        self._counts: dict[tuple[str, str], list[Any]] = {}

    def add(self, cell: CellResult) -> None:
        """Count ``cell`` if it failed to run."""
        if cell.status == "error":
            key = ("call", cell.error or "")
        elif cell.grading_error is not None:
            key = ("grader", cell.grading_error)
        else:
            return
        entry = self._counts.get(key)
        if entry is None:
            if len(self._counts) >= self._distinct:
                return
            entry = self._counts[key] = [0, cell.case_id]
        entry[0] += 1

    def top(self, limit: int = FIRST_ERRORS) -> list[ErrorGroup]:
        """The most frequent errors, most frequent first (first seen first among equals)."""
        ranked = sorted(self._counts.items(), key=lambda item: -item[1][0])
        return [ErrorGroup(kind, message, count, case) for (kind, message), (count, case) in ranked[:limit]]


def first_errors(cells: Sequence[CellResult], limit: int = FIRST_ERRORS) -> list[ErrorGroup]:
    """The most frequent ways ``cells`` failed to run."""
    tally = ErrorTally()
    for cell in cells:
        tally.add(cell)
    return tally.top(limit)


def _classification(groups: list[list[CellResult]], put: Put) -> ClassificationReport | None:
    labelled = [[c for c in g if c.expected_label is not None] for g in groups]
    labelled = [g for g in labelled if g]
    if not labelled:
        return None
    truth: list[Hashable] = [c.expected_label for g in labelled for c in g]
    predicted: list[Hashable] = [
        c.predicted_label if c.predicted_label is not None else "(none)" for g in labelled for c in g
    ]
    report = classification_report(truth, predicted)
    put(proportion([[c.predicted_label == c.expected_label for c in g] for g in labelled], "accuracy"))
    put(MetricValue("macro_f1", report.macro_f1, n=report.n))
    put(MetricValue("macro_precision", report.macro_precision, n=report.n))
    put(MetricValue("macro_recall", report.macro_recall, n=report.n))
    for stats in report.per_label:
        label = str(stats.label)
        support_cells = [
            [c.predicted_label == c.expected_label for c in g if c.expected_label == label] for g in labelled
        ]
        predicted_cells = [[c.expected_label == label for c in g if c.predicted_label == label] for g in labelled]
        recall = proportion([g for g in support_cells if g], f"recall[{label}]")
        precision = proportion([g for g in predicted_cells if g], f"precision[{label}]")
        put(recall if stats.support else MetricValue(f"recall[{label}]", 0.0, n=0))
        put(precision if stats.predicted else MetricValue(f"precision[{label}]", 0.0, n=0))
        put(MetricValue(f"f1[{label}]", stats.f1, n=stats.support))
    return report


def _slices(
    every: list[list[CellResult]], groups: list[list[CellResult]], cases: dict[str, Case], put: Put
) -> list[SliceSummary]:
    """Quality figures per tag, expected label and policy item, named like ``accuracy[tag=hard]``."""
    present = [cases[g[0].case_id] for g in every if g[0].case_id in cases]
    field = codes_field(present)
    out = []
    for (key, value), members in list(slice_members(present, field).items())[:MAX_SLICES]:
        names: list[str] = []

        def add(metric: MetricValue, names: list[str] = names) -> None:
            put(metric)
            names.append(metric.name)

        def name(metric: str, key: str = key, value: str = value) -> str:
            return slice_metric_name(metric, key, value)

        inside = [g for g in groups if g[0].case_id in members]
        add(proportion([[c.passed for c in g] for g in inside], name("pass_rate")))
        labelled = [[c for c in g if c.expected_label is not None] for g in inside]
        if any(labelled):
            hits = [[c.predicted_label == c.expected_label for c in g] for g in labelled if g]
            add(proportion(hits, name("accuracy")))
        add(mean_interval([c.score for g in inside for c in g], name("mean_score")))
        add(
            proportion([[c.status == "error" for c in g] for g in every if g[0].case_id in members], name("error_rate"))
        )
        if key == "violation" and field is not None:
            add(proportion([[value in predicted_codes(c, field) for c in g] for g in inside], name("recall")))
            named = [
                [value in expected_codes(cases[g[0].case_id], field) for c in g if value in predicted_codes(c, field)]
                for g in groups
                if g[0].case_id in cases
            ]
            add(proportion([g for g in named if g], name("precision")))
        out.append(SliceSummary(key, value, len(members), names))
    return out


def _economics(cells: Sequence[CellResult], convert: Conversion, put: Put) -> None:
    costs = [convert(c.cost, c.currency) for c in cells]
    economics = unit_economics(
        costs, [c.input_tokens for c in cells], [c.output_tokens for c in cells], len(cells), convert.currency
    )
    if economics.cost_per_case is not None:
        per_case = mean_interval([c or 0.0 for c in costs], "cost_per_case", convert.currency)
        put(per_case)
        scale = 1000.0
        put(
            MetricValue(
                "cost_per_1k",
                per_case.value * scale,
                None if per_case.low is None else per_case.low * scale,
                None if per_case.high is None else per_case.high * scale,
                per_case.n,
                convert.currency,
            )
        )
        put(MetricValue("cost_total", economics.cost_total or 0.0, n=len(cells), unit=convert.currency))
    put(mean_interval([float(c.input_tokens + c.output_tokens) for c in cells], "tokens_per_case", "tokens"))
    put(MetricValue("cached_share", sum(c.cached for c in cells) / len(cells) if cells else 0.0, n=len(cells)))


def _retrieval(groups: list[list[CellResult]], put: Put) -> None:
    """``retrieval_<figure>`` over the cells whose case names what retrieval should find (``relevant:``).

    Every cell counts, a failed answer too: the chunks were found before the answer failed. The hit rate is
    a share (Wilson, or the cluster bootstrap with repeats); the other figures are means (cluster bootstrap).
    """
    measured: list[list[dict[str, float]]] = []
    for group in groups:
        row = [g.figures for c in group for g in c.grades if g.grader == GRADER and g.figures is not None]
        if row:
            measured.append(row)
    if not measured:
        return
    for name in FIGURES:
        rows = [[float(f[name]) for f in row] for row in measured]
        if name == "hit_rate":
            put(proportion([[v >= 1.0 for v in row] for row in rows], f"retrieval_{name}"))
        elif all(len(row) == 1 for row in rows):
            put(mean_interval([row[0] for row in rows], f"retrieval_{name}"))
        else:
            value = math.fsum(v for row in rows for v in row) / sum(len(row) for row in rows)
            put(_cluster_mean(rows, f"retrieval_{name}", "", value))


def _stability(groups: list[list[CellResult]], put: Put) -> StabilityReport | None:
    repeated = {g[0].case_id: [c.passed for c in g] for g in groups if len(g) >= 2}
    if not repeated:
        return None
    report = stability_report(repeated)
    n = len(repeated)
    all_pass = sum(all(v) for v in repeated.values())
    any_pass = sum(any(v) for v in repeated.values())
    flips = sum(len(set(v)) > 1 for v in repeated.values())
    for name, count in (("pass_all_repeats", all_pass), ("pass_any_repeat", any_pass), ("flip_rate", flips)):
        low, high = wilson_interval(count, n, CONFIDENCE)
        put(MetricValue(name, count / n, low, high, n))
    outputs = {g[0].case_id: [c.output_text for c in g] for g in groups if len(g) >= 2}
    agreement = case_agreement(outputs)
    put(mean_interval(list(agreement.values()), "agreement"))
    return report


# --- agents (issue 14): pass^k, cost and turns per successful task ------------------------------------------


def pass_hat_k_metric(groups: Sequence[Sequence[bool]], k: int | None = None) -> MetricValue | None:
    """pass^k over cases with at least k repeats: the mean of C(c, k) / C(n, k), with a cluster-bootstrap interval.

    ``k`` defaults to the fewest repeats of a case (every repeat). An agent passing 3 of 4 repeats scores
    pass^4 = 0, where its pass rate says 0.75. None when no case has k repeats.
    """
    sizes = [len(g) for g in groups if g]
    if not sizes:
        return None
    k = min(sizes) if k is None else k
    per_case = [pass_hat_k({"case": list(g)}, k) for g in groups if len(g) >= k]
    if not per_case:
        return None
    # Each case is one cluster holding one value: a bootstrap over cases, as for the other repeat figures.
    return mean_interval(per_case, "pass_hat_k")


def ratio_interval(
    numerators: Sequence[Sequence[float]], denominators: Sequence[Sequence[float]], name: str, unit: str = ""
) -> MetricValue:
    """sum(numerators) / sum(denominators) with a cluster bootstrap over cases; NaN when the denominator is 0.

    A resample without any success has an infinite ratio: the upper bound is then None (no finite bound).
    """
    top = np.array([math.fsum(g) for g in numerators], dtype=float)
    bottom = np.array([math.fsum(g) for g in denominators], dtype=float)
    n = int(sum(len(g) for g in denominators))
    total = float(bottom.sum())
    if not len(top) or total <= 0:
        return MetricValue(name, math.nan, None, None, 0, unit)
    value = math.fsum(top.tolist()) / total
    stats = []
    for block in bootstrap_index_blocks(len(top), resamples_for(len(top)), seed=13):
        for over, under in zip(top[block].sum(axis=1).tolist(), bottom[block].sum(axis=1).tolist(), strict=True):
            stats.append(over / under if under > 0 else math.inf)
    finite = [x for x in stats if math.isfinite(x)]
    largest = max(finite, default=math.inf)
    # quantile() takes finite values: an infinite ratio stands in as the float maximum, and a bound past the
    # largest finite ratio (reaching into the resamples without a success) has no finite value.
    stats = sorted(x if math.isfinite(x) else sys.float_info.max for x in stats)
    tail = (1 - CONFIDENCE) / 2
    low, high = quantile(stats, tail), quantile(stats, 1 - tail)
    return MetricValue(name, value, low if low <= largest else None, high if high <= largest else None, n, unit)


def _turns(cell: CellResult) -> float | None:
    grade = next((g for g in cell.grades if g.grader == TRAJECTORY_GRADER and g.figures), None)
    return None if grade is None or grade.figures is None else float(grade.figures.get("turns", math.nan))


def agent_figures(
    every: Sequence[Sequence[CellResult]],
    groups: Sequence[Sequence[CellResult]],
    k: int | None,
    convert: Conversion,
    put: Put,
) -> None:
    """``pass_hat_k`` (with repeats), ``cost_per_success`` and, for agents, ``turns_per_success``.

    Cost per successful task is everything spent (failed and erroring cells too) over the cells that passed:
    what one success costs. Turns per successful task is the mean number of model turns of a passing cell.
    """
    if any(len(g) >= 2 for g in groups):
        metric = pass_hat_k_metric([[c.passed for c in g] for g in groups], k)
        if metric is not None:
            put(metric)
    costs = [[convert(c.cost, c.currency) for c in g] for g in every]
    if costs and all(c is not None for g in costs for c in g):
        spent = [[c or 0.0 for c in g] for g in costs]
        wins = [[float(c.passed) for c in g] for g in every]
        put(ratio_interval(spent, wins, "cost_per_success", convert.currency))
    turns = [[_turns(c) for c in g if c.passed] for g in groups]
    if any(x is not None for g in turns for x in g):
        known = [row for row in ([x for x in g if x is not None] for g in turns) if row]
        value = math.fsum(x for g in known for x in g) / sum(len(g) for g in known)
        put(_cluster_mean(known, "turns_per_success", "turns", value))


def _judges(feature: FeatureConfig, groups: list[list[CellResult]], cases: dict[str, Case]) -> list[JudgeAgreement]:
    out = []
    for spec in feature.graders:
        if spec.base_type not in JUDGED_TYPES:
            continue
        name = spec.label
        judge: list[Hashable] = []
        human: list[Hashable] = []
        for group in groups:
            case = cases.get(group[0].case_id)
            if case is None or name not in case.human:
                continue
            grade = next((g for g in group[0].grades if g.grader == name), None)
            if grade is None or grade.error:
                continue
            judge.append(bool(grade.passed))
            human.append(_truthy(case.human[name]))
        kappa, low, high = kappa_interval(judge, human, CONFIDENCE) if judge else (None, None, None)
        bar = spec.min_kappa if spec.min_kappa is not None else DEFAULT_MIN_KAPPA
        if len(judge) < MIN_LABELLED_CASES or low is None:
            status = "not_measured"
        else:
            status = "trusted" if low >= bar else "untrusted"
        agreement = JudgeAgreement(
            name, len(judge), kappa, spec.min_kappa, status == "trusted", status, low, high, bar, MIN_LABELLED_CASES
        )
        out.append(agreement)
    return out


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("pass", "passed", "true", "yes", "1", "good", "ok", "통과", "적합")
    if isinstance(value, int | float):
        return value >= 0.5
    return bool(value)


def judge_criteria(summary: VersionSummary, feature: FeatureConfig) -> None:
    """Judge each criterion on its estimate, or on the pessimistic bound when ``strict``; fills the gate."""
    results = []
    # Nothing but the error rates means anything when no call succeeded.
    call_errors = summary.metrics.get("error_rate")
    no_call = summary.n_cells > 0 and call_errors is not None and call_errors.value >= 1.0
    # "Not worse than live" needs the live version's results: the promotion gate judges those (deploy/versus_live.py).
    criteria = [c for c in (parse_criterion(text) for text in feature.criteria) if c.baseline is None]
    for criterion in criteria:
        metric = summary.metrics.get(criterion.key)
        if no_call and criterion.metric not in _OVER_EVERY_CALL:
            metric = None
        result = _judge(criterion, metric, feature.strict)
        if metric is None and criterion.slice_key is not None and not no_call:
            result = dataclasses.replace(result, note=_unknown_slice(summary, criterion))
        results.append(result)
    summary.criteria = results
    errors = []
    for j in summary.judges:
        if j.min_kappa is None or j.trusted:
            continue
        kappa = "—" if j.kappa is None else f"{j.kappa:.2f}"
        low = "—" if j.kappa_low is None else f"{j.kappa_low:.2f}"
        key = "evals.gate.judge_not_measured" if j.status == "not_measured" else "evals.gate.judge_untrusted"
        errors.append(t(key, grader=j.grader, n=j.n, kappa=kappa, low=low, bar=j.min_kappa, min_cases=j.min_cases))
    ungraded = summary.metrics.get("grader_error_rate")
    if ungraded is not None and ungraded.value > 0 and not any(c.metric == "grader_error_rate" for c in criteria):
        first = next((e for e in summary.first_errors if e.kind == "grader"), None)
        errors.append(
            t("evals.gate.grader_errors", n=round(ungraded.value * ungraded.n), total=ungraded.n,
              reason=first.message if first else "")
        )  # fmt: skip
    summary.gate_errors = errors
    summary.gate_passed = all(r.passed for r in results) and not summary.gate_errors


def _unknown_slice(summary: VersionSummary, criterion: Criterion) -> str:
    """Why a sliced criterion has no data: no case in that slice, with the closest slice there is."""
    known = [sl.value for sl in summary.slices if sl.key == criterion.slice_key]
    close = difflib.get_close_matches(criterion.slice_value or "", known, n=1)
    suggestion = t("house2.criteria.did_you_mean", name=close[0]) if close else ""
    return t(
        "evaldeep.slice.unknown", key=criterion.slice_key, value=criterion.slice_value, suggestion=suggestion,
        known=", ".join(known) or "—",
    )  # fmt: skip


def _judge(criterion: Criterion, metric: MetricValue | None, strict: bool) -> CriterionResult:
    unit = metric.unit if metric else ""
    if metric is None or math.isnan(metric.value) or metric.n == 0:
        return CriterionResult(
            criterion.text, criterion.key, criterion.op, criterion.threshold, None, None, None, None, "estimate",
            False, unit, note=t("evals.criterion.no_data"),
        )  # fmt: skip
    note = None
    if criterion.currency and unit and criterion.currency != unit:
        return CriterionResult(
            criterion.text, criterion.key, criterion.op, criterion.threshold, metric.value, metric.low, metric.high,
            None, "estimate", False, unit,
            note=f"the criterion is in {criterion.currency} but costs are reported in {unit}; set exchange_rates",
        )  # fmt: skip
    judged, on = metric.value, "estimate"
    if strict:
        bound = metric.low if criterion.higher_is_better else metric.high
        if bound is not None:
            judged, on = bound, "lower bound" if criterion.higher_is_better else "upper bound"
        else:
            note = "no interval for this metric: judged on the estimate"
    return CriterionResult(
        criterion.text, criterion.key, criterion.op, criterion.threshold, metric.value, metric.low, metric.high,
        judged, on, criterion.holds(judged), unit, note,
    )  # fmt: skip
