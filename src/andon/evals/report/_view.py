"""What every report format shows the same way: case order, statuses, key metrics, the verdict line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from andon.evals.metrics import MetricValue
from andon.evals.model import Case, CellResult, Comparison, CriterionResult, RunReport, VersionSummary
from andon.evals.report import _format as f
from andon.messages import t

# Failures first: they are what a reader opens the report for; errors next; passes last.
STATUS_ORDER = {"failed": 0, "error": 1, "parked": 2, "passed": 3, "missing": 4}

# Key metrics in reading order; each entry lists the names a runner may have used for the same figure.
KEY_METRICS: tuple[tuple[str, ...], ...] = (
    ("pass_rate",),
    ("accuracy",),
    ("macro_f1",),
    ("mean_score", "score"),
    ("error_rate",),
    ("grader_error_rate",),
    ("pass_all_repeats",),
    ("pass_hat_k",),
    ("retrieval_recall",),
    ("retrieval_precision",),
    ("retrieval_hit_rate",),
    ("retrieval_mrr",),
    ("retrieval_ndcg",),
    ("latency_p50", "p50_latency_ms"),
    ("latency_p95", "p95_latency_ms"),
    ("cost_per_case",),
    ("cost_per_1k_calls", "cost_per_1k"),
    ("cost_per_success",),
    ("turns_per_success",),
)

_VERDICTS = {"better": "better", "worse": "worse", "no detectable difference": "same"}


@dataclass(slots=True)
class CaseView:
    """One case with its cells per version (by repeat) and its overall status."""

    case: Case
    status: str
    cells: dict[str, list[CellResult]] = field(default_factory=dict)


def cells_status(cells: list[CellResult]) -> str:
    """``failed`` if a graded repeat failed, else ``error`` if a call or a grader failed, else ``parked`` if a repeat
    waits for a person's approval of a tool call (nothing to grade yet), else ``passed``."""
    if not cells:
        return "missing"
    if any(not c.failed_to_run and not c.passed and c.status != "parked" for c in cells):
        return "failed"
    if any(c.failed_to_run for c in cells):
        return "error"
    if any(c.status == "parked" for c in cells):
        return "parked"
    return "passed"


def cell_error(cell: CellResult) -> str | None:
    """Why a cell measured nothing: its call's error, or the grader that could not grade."""
    return cell.error if cell.status == "error" else cell.grading_error


def version_tally(views: list[CaseView], version_id: str) -> dict[str, int]:
    """How many cases failed, errored and passed for one version (a case counts once per version)."""
    counts = {"failed": 0, "error": 0, "parked": 0, "passed": 0, "missing": 0}
    for view in views:
        counts[cells_status(view.cells.get(version_id, []))] += 1
    return counts


def display_path(value: str, base: str | None) -> str:
    """An absolute path inside ``base`` (the dataset's folder) as the dataset wrote it, relative; else as is."""
    if base is None or not os.path.isabs(value):
        return value
    head, colon, line = value.rpartition(":")
    path, suffix = (head, colon + line) if colon and line.isdigit() else (value, "")
    try:
        relative = os.path.relpath(path, base)
    except ValueError:  # another drive on Windows
        return value
    return value if relative.startswith("..") else relative + suffix


def versions(report: RunReport) -> list[tuple[str, str]]:
    """(name, id) of every version in the report, summaries' order first."""
    seen = {s.version_id: s.version_name for s in report.summaries}
    for name, version_id in report.run.versions:
        seen.setdefault(version_id, name)
    for cell in report.cells:
        seen.setdefault(cell.version_id, cell.version_name)
    return [(name, version_id) for version_id, name in seen.items()]


def case_views(report: RunReport) -> list[CaseView]:
    """Every case with its cells, failures first, then errors, then passes (dataset order within each)."""
    by_case: dict[str, CaseView] = {c.id: CaseView(c, "missing") for c in report.cases}
    for cell in report.cells:
        view = by_case.setdefault(cell.case_id, CaseView(Case(id=cell.case_id, vars={}), "missing"))
        view.cells.setdefault(cell.version_id, []).append(cell)
    for view in by_case.values():
        for cells in view.cells.values():
            cells.sort(key=lambda c: c.repeat)
        statuses = [cells_status(cells) for cells in view.cells.values()]
        view.status = min(statuses, key=STATUS_ORDER.__getitem__) if statuses else "missing"
    order = list(by_case.values())
    order.sort(key=lambda v: STATUS_ORDER[v.status])  # stable: dataset order within a status
    return order


def find_metric(summary: VersionSummary, names: tuple[str, ...]) -> MetricValue | None:
    """The first of ``names`` the summary has."""
    for name in names:
        if name in summary.metrics:
            return summary.metrics[name]
    return None


def key_metrics(report: RunReport) -> list[tuple[str, ...]]:
    """The key-metric rows that at least one version has; with several graders, each one's pass rate too."""
    rows = [names for names in KEY_METRICS if any(find_metric(s, names) for s in report.summaries)]
    per_grader = list(
        dict.fromkeys(n for s in report.summaries for n in s.metrics if n.startswith("pass_rate[") and "=" not in n)
    )
    if len(per_grader) > 1 and ("pass_rate",) in rows:
        at = rows.index(("pass_rate",)) + 1
        rows[at:at] = [(name,) for name in per_grader]
    return rows


# The figures a slice table shows, in reading order (criteria may use every sliced figure).
SLICE_COLUMNS = ("pass_rate", "accuracy", "recall", "precision")


@dataclass(frozen=True, slots=True)
class SliceRow:
    """One slice of a version as text: ``tag=hard``, its cases, and each column's value and interval."""

    name: str
    n_cases: int
    cells: list[tuple[str, str]]


def slice_table(summary: VersionSummary, currency: str) -> tuple[list[str], list[SliceRow]]:
    """The columns a version's slices have, and one row per slice (a figure it lacks shows as a dash)."""
    names = {n for sl in summary.slices for n in sl.metrics}
    columns = [c for c in SLICE_COLUMNS if any(n.startswith(f"{c}[") for n in names)]
    rows = []
    for sl in summary.slices:
        cells = []
        for column in columns:
            metric = summary.metrics.get(f"{column}[{sl.key}={sl.value}]")
            cells.append(metric_text(metric, currency) if metric is not None else ("—", ""))
        rows.append(SliceRow(f"{sl.key}={sl.value}", sl.n_cases, cells))
    return columns, rows


def metric_text(m: MetricValue | None, currency: str) -> tuple[str, str]:
    """(value, interval) of a metric as text; a share over nothing (n = 0) is no data, shown as a dash."""
    if m is None or (m.n == 0 and f.metric_kind(m.name, m.unit) == "percent"):
        return ("—", "")
    kind = f.metric_kind(m.name, m.unit)
    return (f.value(m.value, kind, currency), f.interval(m.low, m.high, kind, currency))


def criterion_texts(c: CriterionResult, currency: str, language: str) -> dict[str, str]:
    """A criterion's figures as text: value, interval, threshold and what it was judged on."""
    kind = f.metric_kind(c.metric, c.unit)
    money_unit = c.unit if len(c.unit) == 3 and c.unit.isupper() else currency
    judged_key = {"estimate": "estimate", "lower bound": "lower_bound", "upper bound": "upper_bound"}
    judged = f.tr(f"judged.{judged_key.get(c.judged_on, 'estimate')}", language)
    if c.judged_on not in judged_key:
        judged = c.judged_on
    return {
        "value": f.value(c.value, kind, money_unit),
        "interval": f.interval(c.low, c.high, kind, money_unit),
        "threshold": f"{c.op} {f.value(c.threshold, kind, money_unit)}",
        "judged": judged,
        "judged_value": f.value(c.judged_value, kind, money_unit),
    }


def verdict_key(cmp: Comparison) -> str:
    """``better`` | ``worse`` | ``same`` | ``other``."""
    return _VERDICTS.get(cmp.verdict, "other")


def decided_by(cmp: Comparison) -> str | None:
    """The test whose p-value decided the verdict: ``mcnemar``, ``permutation``, or None when none did.

    Reports written before comparisons recorded it are read with the same rule the comparison applies.
    """
    if cmp.decided_by is not None or verdict_key(cmp) not in ("better", "worse"):
        return cmp.decided_by
    if cmp.mcnemar_p < cmp.alpha:
        return "mcnemar"
    if cmp.score_p is not None and cmp.score_p < cmp.alpha:
        return "permutation"
    return None


def _change(cmp: Comparison, names: tuple[str, ...], currency: str, language: str) -> str:
    primary = next((d for d in cmp.deltas if d.name in names), None)
    if primary is None and cmp.deltas:
        primary = cmp.deltas[0]
    if primary is None:
        return ""
    kind = f.metric_kind(primary.name)
    change = f"{f.metric_label(primary.name, language)} {f.delta(primary.delta, kind, currency, language)}"
    span = f.delta_interval(primary.low, primary.high, kind, currency, language)
    return f"{change} {span}" if span else change


def verdict_line(cmp: Comparison, currency: str, language: str) -> str:
    """The one-line verdict in ``language``: it names the test that decided, with that test's p-value."""
    head = f.tr(f"verdict.{verdict_key(cmp)}", language, a=cmp.a_name, b=cmp.b_name, verdict=cmp.verdict)
    counts = {"n": cmp.n_pairs, "fixed": cmp.mcnemar_c, "broken": cmp.mcnemar_b}
    if decided_by(cmp) == "permutation":
        change = _change(cmp, ("mean_score", "score"), currency, language)
        detail = t(
            "evals.verdict.by_scores", language=language, change=change, p=f.p_equation(cmp.score_p),
            mcnemar=f.p_equation(cmp.mcnemar_p), **counts,
        )  # fmt: skip
        return f"{head} — {detail}"
    change = _change(cmp, ("pass_rate", "accuracy"), currency, language)
    detail = f.tr("verdict.detail", language, change=f"{change}; " if change else "", p=f.p_equation(cmp.mcnemar_p),
                  **counts)  # fmt: skip
    if decided_by(cmp) is None and cmp.score_p is not None:
        detail += t("evals.verdict.scores_too", language=language, p=f.p_equation(cmp.score_p))
    return f"{head} — {detail}"


def flipped_order(cmp: Comparison) -> list[int]:
    """Indexes of flipped cases, broken ones (regressions) first."""
    return sorted(range(len(cmp.flipped)), key=lambda i: cmp.flipped[i].change != "broken")


def summary_for(report: RunReport, version_id: str) -> VersionSummary | None:
    """The summary of one version, if the report has it."""
    return next((s for s in report.summaries if s.version_id == version_id), None)
