"""From graders to a case verdict: negation, safe grading, and the weighted score against the threshold."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from andon.config.graders import GraderSettings
from andon.errors import AndonError
from andon.evals.graders.base import Grader, GraderContext, GradingError, Ungradable, reason_fields, said
from andon.evals.model import Grade, Said

_EPSILON = 1e-9  # weighted means of exact scores can land a hair under the threshold they meet


class Negated:
    """``not-<type>``: score becomes 1 − score and pass becomes fail; an ungradable output still fails."""

    def __init__(self, inner: Grader) -> None:
        self.inner = inner

    async def grade(self, ctx: GraderContext) -> Grade:
        """Grade with the inner grader and invert the verdict."""
        if ctx.status != "ok":
            raise Ungradable(ctx.error or said("polish.grade.output_error"))
        grade = await self.inner.grade(ctx)
        inner: Any = (
            grade.reason if grade.reason_key is None else {"key": grade.reason_key, "values": grade.reason_values}
        )
        reason = said("polish.grade.negated", reason=inner) if grade.reason else said("polish.grade.negated_bare")
        return replace(grade, score=1.0 - grade.score, passed=not grade.passed, **reason_fields(reason))


def _failed(spec: GraderSettings, reason: str | Said, exc: Ungradable | None = None, *, error: bool = False) -> Grade:
    # With ``error`` set the score of 0 is a placeholder: nothing aggregates it.
    return Grade(
        grader=spec.label,
        score=0.0,
        passed=False,
        weight=spec.weight,
        **reason_fields(exc.said or reason if exc else reason),
        predicted=exc.predicted if exc else None,
        expected=exc.expected if exc else None,
        judge_output_id=exc.judge_output_id if exc else None,
        error=error,
    )


async def run_grader(spec: GraderSettings, grader: Grader, ctx: GraderContext) -> Grade:
    """One grade that never raises.

    An error output, or one lacking what the grader reads, fails it. A grader that cannot grade (a failed
    judge, a broken template, a crash, a wrong return value) gives an *error* grade instead: no score at all.
    """
    if ctx.status != "ok":
        return _failed(spec, ctx.error or said("polish.grade.output_error"))
    try:
        grade = await grader.grade(ctx)
    except GradingError as exc:
        return _failed(spec, exc.reason, exc, error=True)
    except Ungradable as exc:
        return _failed(spec, exc.reason, exc)
    except AndonError as exc:
        return _failed(spec, str(exc), error=True)
    except Exception as exc:  # a plugin's bug must not stop the run; the reason keeps what it was
        return _failed(spec, said("polish.grade.crashed", error=f"{type(exc).__name__}: {exc}"), error=True)
    if not isinstance(grade, Grade) or not math.isfinite(grade.score):
        return _failed(spec, f"the grader returned {grade!r}, not a Grade with a finite score", error=True)
    return replace(grade, grader=spec.label, weight=spec.weight, score=min(1.0, max(0.0, grade.score)))


def case_verdict(grades: Sequence[Grade], pass_threshold: float, *, ok: bool = True) -> tuple[float, bool]:
    """The case's weighted score and pass.

    Score: the weight-averaged grade scores (weight 0 = informational). Pass: an ``ok`` output whose score
    reaches ``pass_threshold``, or whose weighted graders all passed (a rubric scoring 0.8 over its own
    threshold must not fail a case held to 1.0). With no weighted grader the output's status decides:
    score 1 and pass for ``ok``, 0 and fail for an error. An error output never passes. A grade marked
    ``error`` (its grader could not grade) is left out of the score, and its case cannot pass.
    """
    if any(g.error for g in grades):
        ok = False
        grades = [g for g in grades if not g.error]
        if not any(g.weight > 0 for g in grades):
            return 0.0, False
    weighted = [g for g in grades if g.weight > 0]
    if not weighted:
        return (1.0 if ok else 0.0), ok
    # Weights as shares of the largest: a tiny weight times a score would underflow to 0 (5e-324 * 0.5 == 0.0).
    top = max(g.weight for g in weighted)
    shares = [g.weight / top for g in weighted]
    score = min(1.0, max(0.0, sum(w * g.score for w, g in zip(shares, weighted, strict=True)) / sum(shares)))
    passed = ok and (score >= pass_threshold - _EPSILON or all(g.passed for g in weighted))
    return score, passed


async def grade_case(
    graders: Sequence[tuple[GraderSettings, Grader]], ctx: GraderContext, pass_threshold: float
) -> tuple[float, bool, list[Grade]]:
    """Run every grader on one output (concurrently) and judge the case: ``(score, passed, grades)``."""
    grades = list(await asyncio.gather(*(run_grader(spec, grader, ctx) for spec, grader in graders)))
    score, passed = case_verdict(grades, pass_threshold, ok=ctx.status == "ok")
    return score, passed, grades
