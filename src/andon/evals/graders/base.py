"""What every grader shares: its context, the services it may use, and the grader protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from andon.config.graders import GraderSettings
from andon.embeddings import Embedder, default_embedder
from andon.errors import ConfigError
from andon.evals.model import Case, Grade, Said
from andon.messages import t


def said(key: str, **values: Any) -> Said:
    """A grade's reason as a catalogue message (keys ``polish.grade.*``): the report shows it in its language."""
    return Said(key, values)


def reason_fields(reason: str | Said | None) -> dict[str, Any]:
    """A Grade's ``reason`` (English) and, for a catalogue message, its key and values."""
    if isinstance(reason, Said):
        return {"reason": reason.text(), "reason_key": reason.key, "reason_values": reason.values}
    return {"reason": reason}


@dataclass(frozen=True, slots=True)
class JudgeReply:
    """What a judge call gave back: parsed JSON (or None), its text, and the stored output's id.

    ``error`` is set when the call itself failed but was still stored (its id then points at the failure).
    """

    parsed: Any
    text: str
    output_id: str | None = None
    error: str | None = None


class GraderServices(Protocol):
    """What graders may ask of the runner: the embedding model, and LLM judge calls with provenance."""

    def embedder(self) -> Embedder:
        """The embedding model for ``similar`` graders."""
        ...

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        """Ask ``judge`` (a provider name, or FEATURE:VERSION) for JSON matching ``schema``; store the call."""
        ...


class OfflineServices:
    """Services without a workspace: the default embedder, and no judge (llm-rubric needs a runner)."""

    def embedder(self) -> Embedder:
        """The process-wide default embedder."""
        return default_embedder()

    async def judge(
        self, judge: str, model: str | None, system: str, prompt: str, schema: dict[str, Any]
    ) -> JudgeReply:
        """Always refuses: judging needs a workspace to find the judge's provider and store its call."""
        raise ConfigError(
            t("house2.grade.no_judge", judge=judge), where="llm-rubric", hint=t("house2.grade.no_judge_hint")
        )


@dataclass(frozen=True, slots=True)
class GraderContext:
    """One output to grade, with its case. ``status`` is ``ok`` or ``error`` (then ``error`` says why).

    ``chunks`` are what the version's retrieve steps found, best first (id, source, section, citation, text).
    ``steps`` are the output's provenance steps, which trajectory graders read (None: not recorded).
    """

    case: Case
    output_text: str | None
    output_json: Any = None
    status: str = "ok"
    error: str | None = None
    services: GraderServices = field(default_factory=OfflineServices)
    chunks: tuple[dict[str, Any], ...] | None = None  # None: the version has no retrieve step
    steps: tuple[dict[str, Any], ...] | None = None  # the output's provenance steps (trajectory graders)


@runtime_checkable
class Grader(Protocol):
    """Turns one output into a :class:`Grade` with a score in [0, 1].

    Raise :class:`Ungradable` when the output lacks what the grader reads; that is a fail even when negated.
    Raise :class:`GradingError` when the grader cannot grade at all; that is an error of the cell.
    """

    async def grade(self, ctx: GraderContext) -> Grade:
        """Grade ``ctx``'s output."""
        ...


class Ungradable(Exception):
    """The output could not be graded (a missing field, a broken template, a failed judge).

    It always fails the grader, negated or not: a broken output must never count as a pass.
    """

    def __init__(
        self,
        reason: str | Said,
        *,
        expected: Any = None,
        predicted: str | None = None,
        judge_output_id: str | None = None,
    ) -> None:
        super().__init__(str(reason))
        self.reason = str(reason)
        self.said = reason if isinstance(reason, Said) else None
        self.expected = expected
        self.predicted = predicted
        self.judge_output_id = judge_output_id


class GradingError(Ungradable):
    """The grader itself could not grade: a failed or unparsable judge, a broken template, a crashing function.

    Not the output's fault, so not a fail: the grade is marked as an error of its cell, never scored as 0.
    """


S = TypeVar("S", bound=GraderSettings)


class SpecGrader(Generic[S]):
    """Base of the built-in graders: keeps its typed settings and builds grades named after them.

    ``Settings`` names the settings model the class takes; a plugin class declares one the same way.
    """

    Settings: ClassVar[type[GraderSettings]] = GraderSettings

    def __init__(self, spec: S, *, where: str | None = None) -> None:
        self.spec = spec
        self.where = where or f"grader {spec.label}"

    def verdict(
        self,
        score: float,
        passed: bool,
        reason: str | Said | None = None,
        *,
        expected: Any = None,
        predicted: str | None = None,
        judge_output_id: str | None = None,
    ) -> Grade:
        """A grade carrying this grader's name and weight; ``score`` is clipped to [0, 1]."""
        return Grade(
            grader=self.spec.label,
            score=min(1.0, max(0.0, float(score))),
            passed=passed,
            weight=self.spec.weight,
            predicted=predicted,
            expected=expected,
            judge_output_id=judge_output_id,
            **reason_fields(reason),
        )

    def check(self, ok: bool, reason: str | Said, *, expected: Any = None, predicted: str | None = None) -> Grade:
        """A pass/fail grade (score 1 or 0); ``reason`` says what was observed, so it reads right negated too."""
        return self.verdict(1.0 if ok else 0.0, ok, reason, expected=expected, predicted=predicted)
