"""The ``python`` grader: your own function decides, sync or async."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from andon.config.graders import PythonSettings
from andon.config.json_values import parse_number, split_path
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, said
from andon.evals.graders.values import is_json, output_at, parsed_output
from andon.evals.model import Grade
from andon.providers.python import load_function

_RETURNS = {"key": "house2.grade.returns"}  # a catalogue message inside a grade's reason


class PythonGrader(SpecGrader[PythonSettings]):
    """Calls ``function(output, case)``; ``output`` is the field at ``path``, the parsed JSON, or the text.

    Text that reads as a JSON object or array is passed parsed; other text (``42``, ``approve``) as a string.
    The function may return a bool, a score in [0, 1] (passing at ``threshold``, default 1.0), a dict with
    ``score``/``passed``/``reason``/``predicted``, or a :class:`Grade`. Raising fails the grade.
    """

    Settings = PythonSettings

    def __init__(self, spec: PythonSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None
        self.threshold = 1.0 if spec.threshold is None else spec.threshold
        # Imported now so a wrong path is a config error, not a failure on every case.
        self.function: Callable[..., Any] = load_function(spec.function or "")

    def _output(self, ctx: GraderContext) -> Any:
        if self.parts:
            return output_at(ctx, self.parts)
        parsed = parsed_output(ctx)
        if ctx.output_json is not None or (is_json(parsed) and isinstance(parsed, dict | list)):
            return parsed
        return ctx.output_text if ctx.output_text is not None else ""

    async def grade(self, ctx: GraderContext) -> Grade:
        """Run the function and read what it returns."""
        output = self._output(ctx)
        fn = self.function
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(output, ctx.case)
            else:
                # User code may block (files, big regexes): keep it off the event loop.
                result = await asyncio.to_thread(fn, output, ctx.case)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            raise GradingError(
                said("house2.grade.fn_raised", function=self.spec.function, type=type(exc).__name__, error=str(exc))
            ) from None
        return self._read(result)

    def _score(self, value: Any) -> float:
        score = parse_number(value)
        if score is None or not 0.0 <= score <= 1.0:
            raise GradingError(said("house2.grade.fn_score", function=self.spec.function, value=repr(value)))
        return score

    def _read(self, result: Any) -> Grade:
        if isinstance(result, Grade):
            return self.verdict(
                self._score(result.score),
                result.passed,
                result.reason,
                expected=result.expected,
                predicted=result.predicted,
                judge_output_id=result.judge_output_id,
            )
        if isinstance(result, bool):
            return self.check(result, f"{self.spec.function} returned {result}")
        if isinstance(result, int | float):
            score = self._score(result)
            return self.verdict(score, score >= self.threshold, f"{self.spec.function} scored {score:g}")
        if isinstance(result, Mapping):
            return self._read_mapping(result)
        raise GradingError(
            said("house2.grade.fn_type", function=self.spec.function, type=type(result).__name__, returns=_RETURNS)
        )

    def _read_mapping(self, result: Mapping[str, Any]) -> Grade:
        passed = result.get("passed")
        if passed is not None and not isinstance(passed, bool):
            raise GradingError(said("house2.grade.fn_passed", function=self.spec.function, passed=repr(passed)))
        if "score" in result:
            score = self._score(result["score"])
        elif passed is not None:
            score = 1.0 if passed else 0.0
        else:
            raise GradingError(said("house2.grade.fn_dict", function=self.spec.function, returns=_RETURNS))
        reason, predicted = result.get("reason"), result.get("predicted")
        return self.verdict(
            score,
            score >= self.threshold if passed is None else passed,
            None if reason is None else str(reason),
            predicted=None if predicted is None else str(predicted),
            expected=result.get("expected"),
        )
