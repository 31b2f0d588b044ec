"""The evaluation's value objects: cases, grades, cell results, summaries, comparisons and the run report.

A run report is complete enough to rebuild any view (HTML, JUnit, Markdown, CSV) without the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from andon.evals.calibration import Calibration
from andon.evals.metrics import ClassificationReport, MetricValue
from andon.evals.stability import StabilityReport
from andon.messages import t
from andon.store.records import RunRecord


def render_reason(key: str, values: dict[str, Any], language: str) -> str:
    """A stored reason in ``language``; a value ``{"key": …, "values": …}`` is a reason of its own."""
    shown = {
        name: render_reason(v["key"], v.get("values") or {}, language) if isinstance(v, dict) and "key" in v else v
        for name, v in values.items()
    }
    return t(key, language=language, **shown)


@dataclass(frozen=True, slots=True)
class Said:
    """A reason as a catalogue message with its values, so each report shows it in its own language."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        """The reason in ``language``."""
        return render_reason(self.key, self.values, language)

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True, slots=True)
class Case:
    """One test case. ``human`` holds human labels per grader name (for judge agreement); ``labels`` several
    people's labels of the case by labeller (for agreement between people)."""

    id: str
    vars: dict[str, Any]
    expected: Any = None
    label: str | None = None
    tags: tuple[str, ...] = ()
    reason: str | None = None
    human: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # file:line the case came from
    labels: dict[str, str] = field(default_factory=dict)
    relevant: tuple[Any, ...] = ()  # what retrieval should find: ids, documents, sections, {quote: …} (issue 18)

    def to_json(self) -> dict[str, Any]:
        """JSON form stored with the run."""
        return (
            {
                "id": self.id,
                "vars": self.vars,
                "expected": self.expected,
                "label": self.label,
                "tags": list(self.tags),
                "reason": self.reason,
                "human": self.human,
                "source": self.source,
            }
            | ({"labels": self.labels} if self.labels else {})
            | ({"relevant": list(self.relevant)} if self.relevant else {})
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        """Inverse of :meth:`to_json`."""
        return cls(
            id=data["id"],
            vars=data.get("vars") or {},
            expected=data.get("expected"),
            label=data.get("label"),
            tags=tuple(data.get("tags") or ()),
            reason=data.get("reason"),
            human=data.get("human") or {},
            source=data.get("source"),
            labels=data.get("labels") or {},
            relevant=tuple(data.get("relevant") or ()),
        )


@dataclass(frozen=True, slots=True)
class Grade:
    """One grader's verdict on one output. ``score`` is in [0, 1].

    ``error`` marks a grader that could not grade (``reason`` says why): its score is no measurement, and
    its cell counts as a grading error, not as a fail.
    """

    grader: str
    score: float
    passed: bool
    weight: float = 1.0
    reason: str | None = None
    predicted: str | None = None  # label graders: the label read from the output
    expected: Any = None
    judge_output_id: str | None = None  # llm-rubric: the judge call's own provenance
    error: bool = False
    # ``reason`` as a catalogue message (graders that say why in words of their own leave it None).
    reason_key: str | None = None
    reason_values: dict[str, Any] | None = None
    figures: dict[str, float] | None = None  # the retrieval grade: recall, precision, hit_rate, mrr, ndcg, k

    def reason_in(self, language: str) -> str | None:
        """``reason`` in ``language`` when it was stored with its key; else as stored (older runs: English)."""
        if self.reason_key is None:
            return self.reason
        return render_reason(self.reason_key, self.reason_values or {}, language)

    def to_json(self) -> dict[str, Any]:
        """JSON form stored with the result."""
        return {
            "grader": self.grader,
            "score": self.score,
            "passed": self.passed,
            "weight": self.weight,
            "reason": self.reason,
            "predicted": self.predicted,
            "expected": self.expected,
            "judge_output_id": self.judge_output_id,
            "error": self.error,
            "reason_key": self.reason_key,
            "reason_values": self.reason_values,
        } | ({"figures": self.figures} if self.figures is not None else {})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Grade:
        """Inverse of :meth:`to_json`; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True)
class CellResult:
    """One cell of a run: a version on a case, one repeat, graded."""

    run_id: str
    version_id: str
    version_name: str
    case_id: str
    repeat: int
    output_id: str | None
    status: str  # ok | error | parked (a tool call waits for a person: engine.approval)
    score: float
    passed: bool
    grades: list[Grade] = field(default_factory=list)
    output_text: str | None = None
    output_json: Any = None
    error: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    cached: bool = False
    predicted_label: str | None = None
    expected_label: str | None = None
    provenance: dict[str, Any] | None = None  # provider, model, params, messages, steps (for reports)

    @property
    def grading_error(self) -> str | None:
        """Why a grader could not grade this output (the first such grader), or None when every grader could."""
        return next((g.reason or g.grader for g in self.grades if g.error), None)

    @property
    def counts(self) -> bool:
        """Whether the cell counts in pass rates and comparisons: every grader could grade it and it is not parked
        at a tool call waiting for a person (an error counts, as a failure)."""
        return self.grading_error is None and self.status != "parked"

    @property
    def failed_to_run(self) -> bool:
        """The call failed or a grader could not grade: nothing was measured about the output's quality."""
        return self.status == "error" or self.grading_error is not None


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """A success criterion judged on a version's metrics."""

    text: str
    metric: str
    op: str
    threshold: float
    value: float | None
    low: float | None
    high: float | None
    judged_value: float | None  # the value compared: the estimate, or a bound when strict
    judged_on: str  # "estimate" | "lower bound" | "upper bound"
    passed: bool
    unit: str = ""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeAgreement:
    """How well an LLM judge agrees with human labels on the cases that carry them.

    ``status``: ``trusted`` (enough labelled cases and the lower bound of kappa reaches ``bar``),
    ``untrusted`` (measured, below the bar) or ``not_measured`` (too few labelled cases, or one label only).
    Empty in reports written before statuses existed: ``trusted`` then says it all.
    """

    grader: str
    n: int
    kappa: float | None
    min_kappa: float | None
    trusted: bool
    status: str = ""
    kappa_low: float | None = None
    kappa_high: float | None = None
    bar: float | None = None  # the kappa the lower bound must reach: min_kappa, else the default
    min_cases: int = 0  # labelled cases needed before kappa is measured at all


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """Cells that failed the same way: a failed call (``call``) or a grader that could not grade (``grader``)."""

    kind: str
    message: str
    count: int
    case_id: str  # the first case it happened on


@dataclass(frozen=True, slots=True)
class SliceSummary:
    """One slice of a version's cases (``tag=hard``, ``label=reject``, ``violation=phone_number``).

    ``metrics`` names the slice's figures in the summary's ``metrics``, e.g. ``accuracy[tag=hard]``.
    """

    key: str
    value: str
    n_cases: int
    metrics: list[str] = field(default_factory=list)


@dataclass(slots=True)
class VersionSummary:
    """Everything measured for one version in one run."""

    version_id: str
    version_name: str
    n_cases: int
    n_cells: int
    metrics: dict[str, MetricValue]
    classification: ClassificationReport | None
    latencies_ms: list[float]
    stability: StabilityReport | None
    criteria: list[CriterionResult]
    judges: list[JudgeAgreement]
    gate_passed: bool
    gate_errors: list[str] = field(default_factory=list)  # why the gate could not be judged (e.g. untrusted judge)
    first_errors: list[ErrorGroup] = field(default_factory=list)  # the most frequent errors, most frequent first
    slices: list[SliceSummary] = field(default_factory=list)  # per tag, expected label and policy item


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """B minus A for one metric, with its interval and test."""

    name: str
    a: float | None
    b: float | None
    delta: float | None
    low: float | None
    high: float | None
    p_value: float | None
    method: str
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class FlippedCase:
    """A case whose pass/fail changed from A to B."""

    case_id: str
    change: str  # fixed | broken
    a_output: str | None
    b_output: str | None
    a_score: float
    b_score: float


@dataclass(slots=True)
class Comparison:
    """A paired comparison of two versions (or two runs) by case."""

    a_name: str
    a_version_id: str
    b_name: str
    b_version_id: str
    n_pairs: int
    alpha: float
    deltas: list[MetricDelta]
    mcnemar_b: int  # A passed, B failed
    mcnemar_c: int  # A failed, B passed
    mcnemar_p: float
    score_p: float | None
    flipped: list[FlippedCase]
    verdict: str  # "better" | "worse" | "no detectable difference"
    verdict_text: str
    decided_by: str | None = None  # "mcnemar" | "permutation": the test whose p-value decided; None: no test did
    decided_p: float | None = None
    left_out: int = 0  # cases left out of the pairing: ungradable or parked for approval on either side


RunInfo = RunRecord  # the report header's former name: one type, the stored run


@dataclass(slots=True)
class RunReport:
    """A run with its summaries, optional comparison, cases and every cell."""

    run: RunRecord
    summaries: list[VersionSummary]
    comparison: Comparison | None
    cases: list[Case]
    cells: list[CellResult]
    dataset_dir: str | None = None  # where relative image paths resolve (for thumbnails)
    calibration: list[Calibration] = field(default_factory=list)  # per version whose answers carry a confidence

    @property
    def gate_passed(self) -> bool:
        """True when every version's criteria hold."""
        return all(s.gate_passed for s in self.summaries)


# The feature settings a run records (and a stored run's report is judged with); the rest of a run's config holds
# other records (its slice, a robustness suite's pairs, the improvement loop's split) under their own keys.
RECORDED_FEATURE_FIELDS = frozenset({"graders", "pass_threshold", "criteria", "strict", "alpha", "pass_k"})
