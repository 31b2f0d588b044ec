"""Success criteria: ``accuracy >= 0.95``, ``p95_latency_ms <= 2000``, ``cost_per_1k <= 3000 KRW``.

A metric in brackets names a label (``recall[reject]``) or, for ``pass_rate``, a grader (``pass_rate[polite]``).
A bracket ``[KEY=VALUE]`` names a slice of the cases: ``accuracy[tag=hard] >= 0.8`` (keys: tag, label, violation),
``recall[violation=phone_number] >= 0.95`` (the share of cases breaking that policy item whose answer names it).
``flip_rate[typo] <= 0.05`` is a robustness run's flip rate under one perturbation (``flip_rate[any]``: under any).
``accuracy >= live - 0.02`` is judged against the live version on the same cases (non-inferiority, paired).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from andon.messages import t

# Metric names a criterion may use; label-specific ones look like precision[reject].
METRICS: dict[str, str] = {
    "pass_rate": "share of cases whose weighted grade reaches the threshold",
    "accuracy": "share of cases whose predicted label equals the expected label",
    "macro_f1": "F1 averaged over labels",
    "macro_precision": "precision averaged over labels",
    "macro_recall": "recall averaged over labels",
    "precision": "precision of one label: precision[LABEL]",
    "recall": "recall of one label: recall[LABEL]",
    "f1": "F1 of one label: f1[LABEL]",
    "mean_score": "mean weighted grade score",
    "error_rate": "share of calls that failed",
    "grader_error_rate": "share of outputs a grader could not grade (a failed judge, a crash)",
    "p50_latency_ms": "median latency of a call",
    "p90_latency_ms": "90th percentile latency",
    "p95_latency_ms": "95th percentile latency",
    "p99_latency_ms": "99th percentile latency",
    "cost_per_case": "mean cost of one case (all steps)",
    "cost_per_1k": "cost of 1,000 calls",
    "tokens_per_case": "mean input+output tokens of one case",
    "pass_all_repeats": "share of cases that pass in every repeat (pass^k)",
    "pass_any_repeat": "share of cases that pass in at least one repeat (pass@k)",
    "flip_rate": "share of cases whose repeats disagree on pass/fail",
    "pass_hat_k": "pass^k: chance that k repeats drawn from a case's repeats all pass, mean over cases",
    "cost_per_success": "everything spent (failures too) per cell that passed",
    "turns_per_success": "mean model turns of a cell that passed (agents, tool-using versions)",
    "agreement": "mean per-case agreement of outputs across repeats",
    "retrieval_recall": "share of a case's relevant entries in the first k retrieved chunks, mean over cases",
    "retrieval_precision": "share of the k retrieved slots holding a relevant chunk, mean over cases",
    "retrieval_hit_rate": "share of cases with a relevant chunk in the first k",
    "retrieval_mrr": "mean reciprocal rank of the first relevant chunk (0 when none in the first k)",
    "retrieval_ndcg": "mean nDCG of the first k retrieved chunks",
}
LABELLED = {"precision", "recall", "f1"}
# Metrics that may name one grader in brackets: pass_rate[polite] is that grader's own pass rate.
PER_GRADER = {"pass_rate"}
# flip_rate[PERTURBATION]: the robustness suite's flip rate under it; FLIP_ANY: flipped under at least one.
PER_PERTURBATION = {"flip_rate"}
FLIP_ANY = "any"
# Slices: the cases with a tag, an expected label, or an expected violation code (a policy item).
SLICE_KEYS = ("tag", "label", "violation")
# Metrics measured over the cases of any slice.
SLICED = ("pass_rate", "accuracy", "mean_score", "error_rate")
# Metrics of one policy item only: recall/precision of naming its code.
PER_VIOLATION = ("recall", "precision")
HIGHER_IS_BETTER = {
    "pass_rate", "accuracy", "macro_f1", "macro_precision", "macro_recall", "precision", "recall", "f1",
    "mean_score", "pass_all_repeats", "pass_any_repeat", "agreement", "retrieval_recall", "retrieval_precision",
    "retrieval_hit_rate", "retrieval_mrr", "retrieval_ndcg", "pass_hat_k",
}  # fmt: skip
# Not worse than live: metrics a paired comparison measures, and the bound of B − live each is judged on.
RELATIVE = ("pass_rate", "accuracy", "mean_score", "p95_latency_ms")
_RELATIVE = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)(?:\[(?P<label>[^\]]+)\])?\s*(?P<op>>=|<=|>|<)\s*live\b\s*"
    r"(?:(?P<sign>[-+])\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>%|ms|s)?)?\s*$"
)
_PATTERN = re.compile(
    r"^\s*(?P<metric>[a-z0-9_]+)(?:\[(?P<label>[^\]]+)\])?\s*(?P<op>>=|<=|>|<|==)\s*"
    r"(?P<value>[-+]?\d+(?:[.,_]\d+)*(?:\.\d+)?)\s*(?P<unit>%|[A-Z]{3}|ms|s)?\s*$"
)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One parsed criterion; ``threshold`` is in the metric's own unit (fractions, ms, or ``currency``)."""

    text: str
    metric: str
    op: str
    threshold: float
    label: str | None = None
    currency: str | None = None
    slice_key: str | None = None  # tag | label | violation, with slice_value: accuracy[tag=hard]
    slice_value: str | None = None
    baseline: str | None = None  # "live": ``threshold`` is the allowed change against it, e.g. -0.02

    @property
    def key(self) -> str:
        """The metric name as reports show it, e.g. ``recall[reject]`` or ``accuracy[tag=hard]``."""
        if self.slice_key is not None:
            return slice_metric_name(self.metric, self.slice_key, self.slice_value or "")
        return f"{self.metric}[{self.label}]" if self.label else self.metric

    @property
    def higher_is_better(self) -> bool:
        """Whether larger values of the metric are better (decides which interval bound ``strict`` uses)."""
        return self.metric in HIGHER_IS_BETTER

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the criterion."""
        return {
            ">=": value >= self.threshold,
            "<=": value <= self.threshold,
            ">": value > self.threshold,
            "<": value < self.threshold,
            "==": value == self.threshold,
        }[self.op]


def parse_criterion(text: str) -> Criterion:
    """Parse one criterion or raise ``ValueError`` with a fix-it message."""
    relative = _RELATIVE.match(text)
    if relative is not None:
        return _parse_relative(text, relative)
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(t("house2.criteria.unreadable", text=text))
    metric, label, unit = match["metric"], match["label"], match["unit"]
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, METRICS, n=1)
        suggestion = t("house2.criteria.did_you_mean", name=close[0]) if close else ""
        raise ValueError(
            t(
                "house2.criteria.unknown_metric",
                metric=metric,
                text=text,
                suggestion=suggestion,
                known=", ".join(METRICS),
            )
        )
    slice_key: str | None = None
    slice_value: str | None = None
    if label is not None and "=" in label:
        slice_key, slice_value = _parse_slice(text, metric, label)
        label = None
    elif metric in LABELLED and label is None:
        raise ValueError(t("house2.criteria.needs_label", metric=metric))
    if label is not None and metric not in LABELLED | PER_GRADER | PER_PERTURBATION:
        raise ValueError(t("house2.criteria.no_brackets", text=text, metric=metric))
    value = float(match["value"].replace(",", "").replace("_", ""))
    currency = None
    if unit == "%":
        value /= 100
    elif unit == "s":
        value *= 1000
    elif unit is not None and unit != "ms":
        currency = unit
    if currency is not None and not metric.startswith("cost"):
        raise ValueError(t("house2.criteria.currency", text=text))
    if metric.endswith("latency_ms") and currency is not None:
        raise ValueError(t("house2.criteria.latency_unit", text=text))
    return Criterion(
        text=text.strip(), metric=metric, op=match["op"], threshold=value, label=label, currency=currency,
        slice_key=slice_key, slice_value=slice_value,
    )  # fmt: skip


def _parse_relative(text: str, match: re.Match[str]) -> Criterion:
    """``accuracy >= live - 0.02``: the metric, its direction, and the signed margin in the metric's unit."""
    metric, label, op = match["metric"], match["label"], match["op"]
    if metric not in RELATIVE:
        raise ValueError(t("evalcal.criteria.live_metric", text=text, metric=metric, known=", ".join(RELATIVE)))
    slice_key = slice_value = None
    if label is not None:
        if "=" not in label:
            raise ValueError(t("evalcal.criteria.live_brackets", text=text))
        slice_key, slice_value = _parse_slice(text, metric, label)
    better = metric in HIGHER_IS_BETTER
    if (op in (">=", ">")) != better:
        ops = ">=, >" if better else "<=, <"
        raise ValueError(t("evalcal.criteria.live_direction", text=text, metric=metric, ops=ops))
    margin = float(match["value"] or 0.0) * (-1.0 if match["sign"] == "-" else 1.0)
    unit = match["unit"]
    if unit == "%":
        margin /= 100
    elif unit in ("ms", "s") and not metric.endswith("latency_ms"):
        raise ValueError(t("evalcal.criteria.live_unit", text=text, metric=metric))
    elif unit == "s":
        margin *= 1000
    return Criterion(
        text=text.strip(), metric=metric, op=op, threshold=margin, slice_key=slice_key, slice_value=slice_value,
        baseline="live",
    )  # fmt: skip


def slice_metric_name(metric: str, key: str, value: str) -> str:
    """The name a sliced metric has in a summary, e.g. ``accuracy[tag=hard]``."""
    return f"{metric}[{key}={value}]"


def _parse_slice(text: str, metric: str, bracket: str) -> tuple[str, str]:
    """``tag=hard`` -> ("tag", "hard"), or a ValueError naming the slip and the keys there are."""
    key, _, value = (part.strip() for part in bracket.partition("="))
    if not key or not value or "=" in value:
        raise ValueError(t("evaldeep.criteria.slice_syntax", text=text))
    if key not in SLICE_KEYS:
        close = difflib.get_close_matches(key, SLICE_KEYS, n=1)
        suggestion = t("house2.criteria.did_you_mean", name=close[0]) if close else ""
        raise ValueError(
            t("evaldeep.criteria.slice_key", text=text, key=key, suggestion=suggestion, known=", ".join(SLICE_KEYS))
        )
    allowed = SLICED + PER_VIOLATION if key == "violation" else SLICED
    if metric not in allowed:
        raise ValueError(
            t("evaldeep.criteria.slice_metric", text=text, metric=metric, key=key, known=", ".join(allowed))
        )
    return key, value


def flip_metric_name(perturbation: str) -> str:
    """The summary's name of a flip rate under one perturbation, e.g. ``flip_rate[typo]``."""
    return f"flip_rate[{perturbation}]"


def check_flip_names(criteria: Sequence[str], perturbations: Sequence[str]) -> None:
    """Refuse ``flip_rate[NAME]`` when the feature's ``robustness:`` lists perturbations and none is NAME."""
    known = [*dict.fromkeys(perturbations)]
    if not known:  # `andon eval --robustness TYPES` may name them at run time; such a run judges what it measured
        return
    for text in criteria:
        criterion = parse_criterion(text)
        if criterion.metric not in PER_PERTURBATION or criterion.label is None:
            continue
        if criterion.label in (*known, FLIP_ANY):
            continue
        close = difflib.get_close_matches(criterion.label, [*known, FLIP_ANY], n=1)
        suggestion = t("house2.criteria.did_you_mean", name=close[0]) if close else ""
        raise ValueError(
            t("evalfin.criteria.flip_name", text=text, name=criterion.label, suggestion=suggestion,
              known=", ".join([*known, FLIP_ANY]))
        )  # fmt: skip


def unique_grader_names(labels: Sequence[str]) -> list[str]:
    """Names that tell graders apart: each grader's label, with ``#2``, ``#3`` … on a repeated label."""
    taken = set(labels)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        name = label
        if seen[label] > 1:
            number = seen[label]
            while f"{label}#{number}" in taken:  # a grader may already be called "contains#2"
                number += 1
            name = f"{label}#{number}"
            taken.add(name)
        out.append(name)
    return out


def check_grader_names(criteria: Sequence[str], grader_labels: Sequence[str]) -> None:
    """Refuse ``pass_rate[NAME]`` when no grader is called NAME, suggesting the closest name."""
    names = unique_grader_names(grader_labels)
    for text in criteria:
        criterion = parse_criterion(text)
        if criterion.metric not in PER_GRADER or criterion.label is None or criterion.label in names:
            continue
        close = difflib.get_close_matches(criterion.label, names, n=1)
        suggestion = t("house2.criteria.did_you_mean", name=close[0]) if close else ""
        known = ", ".join(names) if names else t("house2.criteria.no_graders")
        raise ValueError(
            t("house2.criteria.no_grader", name=criterion.label, text=text, suggestion=suggestion, known=known)
        )
