"""Graders turn one output into a scored, explained pass or fail; ``grade_case`` turns them into a case verdict.

Build them from config with :func:`build_graders`; add your own through the ``andon.graders`` entry point: a
class with ``Settings`` (a subclass of :class:`~andon.config.graders.GraderSettings`, checked when andon.yaml
loads), constructed as ``cls(settings, where=...)`` like the built-ins, with an ``async grade(ctx) -> Grade``.
"""

from andon.evals.graders.base import (
    Grader,
    GraderContext,
    GraderServices,
    GradingError,
    JudgeReply,
    OfflineServices,
    SpecGrader,
    Ungradable,
)
from andon.evals.graders.registry import build_grader, build_graders, grader_class, known_types
from andon.evals.graders.scoring import Negated, case_verdict, grade_case, run_grader

__all__ = [
    "Grader",
    "GraderContext",
    "GraderServices",
    "GradingError",
    "JudgeReply",
    "Negated",
    "OfflineServices",
    "SpecGrader",
    "Ungradable",
    "build_grader",
    "build_graders",
    "case_verdict",
    "grade_case",
    "grader_class",
    "known_types",
    "run_grader",
]
