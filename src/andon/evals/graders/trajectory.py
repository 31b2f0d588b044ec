"""Trajectory graders: the path an agent took, not only its answer (issue 14).

Each reads the output's provenance steps as a :class:`~andon.agents.trajectory.Trajectory`: which tools were
called and with what, in which order, who the conversation was handed to, how many turns it took, whether it
asked a clarifying question when the case was ambiguous, and what a tool's backing data holds afterwards.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema.exceptions import best_match

from andon.agents.trajectory import ToolEvent, Trajectory, trajectory_of
from andon.config.graders import (
    ClarifySettings,
    FinalStateSettings,
    HandoffSettings,
    ToolArgumentsSettings,
    ToolCalledSettings,
    ToolNotCalledSettings,
    ToolOrderSettings,
    TurnsSettings,
)
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, Ungradable, said
from andon.evals.graders.structured import schema_validator
from andon.evals.graders.values import render_value
from andon.evals.model import Case, Grade, Said
from andon.providers.python import load_function

__all__ = [
    "GRADER",
    "Clarify",
    "FinalState",
    "Handoff",
    "ToolCalled",
    "ToolNotCalled",
    "ToolOrder",
    "Turns",
    "is_ambiguous",
    "trajectory_grade",
]

GRADER = "trajectory"  # the informational grade (weight 0) carrying one cell's turns and tool calls
_TRUE = frozenset({"true", "yes", "1", "y", "예", "네"})


def trajectory(ctx: GraderContext) -> Trajectory:
    """The output's trajectory; an output stored without its steps cannot be graded on its path."""
    if ctx.steps is None:
        raise Ungradable(said("traj14.grade.no_steps"))
    return trajectory_of(ctx.steps)


def trajectory_grade(path: Trajectory) -> Grade:
    """The informational grade (weight 0: it never moves the case's score) holding one cell's path figures."""
    figures = path.figures()
    reason = said(
        "traj14.grade.figures", turns=path.turns, tool_calls=len(path.tool_calls), handoffs=len(path.handoffs)
    )
    return Grade(
        grader=GRADER,
        score=1.0,
        passed=True,
        weight=0.0,
        reason=reason.text(),
        reason_key=reason.key,
        reason_values=reason.values,
        figures=figures,
    )


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _same(actual: Any, expected: Any) -> bool:
    """Equal; a dict expects at least its keys; a templated (so textual) value also matches the text of a number."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and _same(actual[k], v) for k, v in expected.items())
    if isinstance(actual, bool) and isinstance(expected, bool):
        return actual is expected
    if actual == expected and not isinstance(actual, bool) and not isinstance(expected, bool):
        return True  # True == 1 in Python; an argument true is no count of 1
    if isinstance(expected, str) and not isinstance(actual, str | Mapping | list):
        # {{ order_id }} renders 1234 as "1234"; the model's argument may be the number itself.
        return expected in (str(actual), json.dumps(actual))
    return False


class _Arguments:
    """Which calls of a tool match the given values and schema, and why the first one that does not."""

    def __init__(self, spec: ToolArgumentsSettings, where: str) -> None:
        self.spec = spec
        self.validator: Any = None
        if spec.arguments_schema is not None:
            self.validator = schema_validator(spec.arguments_schema, f"{where}.arguments_schema")
        self.where = where

    def problem(self, call: ToolEvent, values: dict[str, Any] | None) -> Said | None:
        """Why ``call`` does not match, or None when it does."""
        if values is None and self.validator is None:
            return None
        arguments = call.arguments
        if arguments is None:
            return said("traj14.grade.args_not_json", arguments=_shown(call.arguments_text or ""))
        for key, wanted in (values or {}).items():
            if key not in arguments:
                return said("traj14.grade.arg_missing", argument=key)
            if not _same(arguments[key], wanted):
                return said(
                    "traj14.grade.arg_differs", argument=key, actual=_shown(arguments[key]), expected=_shown(wanted)
                )
        if self.validator is not None:
            error = best_match(self.validator.iter_errors(arguments))
            if error is not None:
                at = ".".join(str(p) for p in error.absolute_path) or "(root)"
                return said("polish.grade.schema_at", at=at, problem=error.message)
        return None

    def split(self, path: Trajectory, case: Case) -> tuple[list[ToolEvent], list[Said]]:
        """The calls of the tool that match, and the problems of those that do not (in call order)."""
        values = render_value(self.spec.arguments, case, self.where) if self.spec.arguments is not None else None
        matching, problems = [], []
        for call in path.tool_calls:
            if call.name != self.spec.tool:
                continue
            problem = self.problem(call, values)
            if problem is None:
                matching.append(call)
            else:
                problems.append(problem)
        return matching, problems


def _names(calls: list[str]) -> str:
    return ", ".join(calls) if calls else "—"


class ToolCalled(SpecGrader[ToolCalledSettings]):
    """The run called ``tool`` with matching arguments between ``at_least`` and ``at_most`` times."""

    Settings = ToolCalledSettings

    def __init__(self, spec: ToolCalledSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.arguments = _Arguments(spec, self.where)

    async def grade(self, ctx: GraderContext) -> Grade:
        """Count the matching calls."""
        path = trajectory(ctx)
        matching, problems = self.arguments.split(path, ctx.case)
        count, low, high = len(matching), self.spec.at_least, self.spec.at_most
        ok = count >= low and (high is None or count <= high)
        if high is None:
            wanted = {"key": "traj14.want.at_least", "values": {"n": low}}
        elif high == low:
            wanted = {"key": "traj14.want.exactly", "values": {"n": low}}
        else:
            wanted = {"key": "traj14.want.between", "values": {"low": low, "high": high}}
        if not ok and count < low and problems:
            # The tool was called, with other arguments: say how the first such call differed.
            reason = said("traj14.grade.called_differently", tool=self.spec.tool, count=len(problems),
                          problem={"key": problems[0].key, "values": problems[0].values}, wanted=wanted)  # fmt: skip
        else:
            seen = _names([c.name for c in path.tool_calls])
            reason = said("traj14.grade.called", tool=self.spec.tool, count=count, wanted=wanted, calls=seen)
        return self.check(ok, reason, expected=self.spec.tool, predicted=str(count))


class ToolNotCalled(SpecGrader[ToolNotCalledSettings]):
    """The run never called ``tool`` (with matching arguments, when given)."""

    Settings = ToolNotCalledSettings

    def __init__(self, spec: ToolNotCalledSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.arguments = _Arguments(spec, self.where)

    async def grade(self, ctx: GraderContext) -> Grade:
        """Look for a matching call."""
        matching, _ = self.arguments.split(trajectory(ctx), ctx.case)
        if matching:
            first = _shown(matching[0].arguments_text or "{}")
            reason = said("traj14.grade.was_called", tool=self.spec.tool, count=len(matching), arguments=first)
        else:
            reason = said("traj14.grade.not_called", tool=self.spec.tool)
        return self.check(not matching, reason, predicted=str(len(matching)))


def _subsequence(wanted: list[str], calls: list[str]) -> bool:
    it = iter(calls)
    return all(name in it for name in wanted)  # ``in`` advances the iterator: order is kept


class ToolOrder(SpecGrader[ToolOrderSettings]):
    """The tools were called in the order ``tools`` (``exact``: those calls and nothing else)."""

    Settings = ToolOrderSettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Compare the call order with the expected one."""
        calls = [c.name for c in trajectory(ctx).tool_calls]
        wanted = list(self.spec.tools)
        ok = calls == wanted if self.spec.mode == "exact" else _subsequence(wanted, calls)
        mode = {"key": f"traj14.mode.{self.spec.mode}", "values": {}}
        key = "traj14.grade.order_ok" if ok else "traj14.grade.order_off"
        reason = said(key, expected=_names(wanted), calls=_names(calls), mode=mode)
        return self.check(ok, reason, expected=wanted, predicted=_names(calls))


class Handoff(SpecGrader[HandoffSettings]):
    """The conversation was handed to agent ``to`` (from ``source``, when given)."""

    Settings = HandoffSettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Look for the handoff."""
        target = str(render_value(self.spec.to, ctx.case, f"{self.where}.to")).strip()
        handoffs = trajectory(ctx).handoffs
        found = [h for h in handoffs if h.target == target and (self.spec.source in (None, h.source))]
        seen = _names([f"{h.source or '?'} → {h.target}" for h in handoffs])
        if found:
            reason = said("traj14.grade.handed", to=target, source=found[0].source or "?")
        else:
            reason = said("traj14.grade.not_handed", to=target, seen=seen)
        return self.check(bool(found), reason, expected=target, predicted=seen)


class Turns(SpecGrader[TurnsSettings]):
    """The run took at most ``at_most`` model turns (or tool calls)."""

    Settings = TurnsSettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Count."""
        path = trajectory(ctx)
        count = path.turns if self.spec.count == "turns" else len(path.tool_calls)
        ok = count <= self.spec.at_most
        key = f"traj14.grade.{self.spec.count}"
        return self.check(ok, said(key, count=count, at_most=self.spec.at_most), predicted=str(count))


def is_ambiguous(case: Case, field: str) -> bool:
    """Whether ``case`` is marked ambiguous: its variable ``field`` is true (true/yes/1), or it has the tag."""
    value = case.vars.get(field)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return field in case.tags


class Clarify(SpecGrader[ClarifySettings]):
    """Asked a clarifying question when the case is ambiguous; answered directly when it is clear."""

    Settings = ClarifySettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Compare the output's kind with the case's ambiguity."""
        asked = trajectory(ctx).clarified
        ambiguous = is_ambiguous(ctx.case, self.spec.field)
        ok = asked if ambiguous else not (asked and self.spec.penalise_clear)
        key = f"traj14.grade.{'asked' if asked else 'answered'}_{'ambiguous' if ambiguous else 'clear'}"
        predicted = "clarify" if asked else "answer"
        return self.check(ok, said(key), expected="clarify" if ambiguous else "answer", predicted=predicted)


class FinalState(SpecGrader[FinalStateSettings]):
    """Your function checks what a tool left behind: ``function(case, trajectory)``, sync or async.

    It returns a bool, or a dict with ``passed`` (bool) and optionally ``reason``; raising is an error of the
    grader (not a fail), since a broken check measured nothing.
    """

    Settings = FinalStateSettings

    def __init__(self, spec: FinalStateSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        # Imported now so a wrong path is a config error, not a failure on every case.
        self.function: Callable[..., Any] = load_function(spec.function)

    async def grade(self, ctx: GraderContext) -> Grade:
        """Call the check."""
        path, fn, name = trajectory(ctx), self.function, self.spec.function
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(ctx.case, path)
            else:
                # A check reads a database or files: keep it off the event loop.
                result = await asyncio.to_thread(fn, ctx.case, path)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:
            raise GradingError(
                said("house2.grade.fn_raised", function=name, type=type(exc).__name__, error=str(exc))
            ) from None
        reason: Any = None
        if isinstance(result, Mapping) and isinstance(result.get("passed"), bool):
            reason, result = result.get("reason"), result["passed"]
        if not isinstance(result, bool):
            raise GradingError(said("traj14.grade.state_type", function=name, type=type(result).__name__))
        if reason is not None:
            return self.check(result, said("traj14.grade.state_said", function=name, reason=str(reason)))
        return self.check(result, said("traj14.grade.state_ok" if result else "traj14.grade.state_off", function=name))
