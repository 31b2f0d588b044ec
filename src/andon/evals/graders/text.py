"""Text graders: equals, contains, icontains, contains-any, contains-all, regex and label."""

from __future__ import annotations

import json
import re
from typing import Any, Generic, TypeVar

from andon.config.graders import (
    ComparedSettings,
    ContainsAllSettings,
    ContainsAnySettings,
    ContainsSettings,
    EqualsSettings,
    IContainsSettings,
    JsonFieldSettings,
    LabelSettings,
    ManySettings,
    PathSettings,
    RegexSettings,
    TextOptions,
)
from andon.config.json_values import split_path
from andon.errors import ConfigError
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, Ungradable, said
from andon.evals.graders.values import (
    as_text,
    expected_label,
    expected_value,
    has_template,
    is_json,
    output_at,
    output_text,
    parsed_output,
)
from andon.evals.model import Grade
from andon.messages import t

_MISSING = object()


def _short(value: Any, limit: int = 80) -> str:
    text = as_text(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


P = TypeVar("P", bound=PathSettings)
C = TypeVar("C", bound=ComparedSettings)
M = TypeVar("M", bound=ManySettings)


class _PathGrader(SpecGrader[P], Generic[P]):
    """A grader that may read a field of the output (``path:``)."""

    def __init__(self, spec: P, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None

    def _ignore_case(self) -> bool:
        options = getattr(self.spec, "options", None)
        return isinstance(options, TextOptions) and options.ignore_case


def _as_json_value(value: Any) -> Any:
    """A string that is JSON becomes its value; anything else (or a non-JSON string) is returned as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return _MISSING
    return value


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values where ``true`` is not ``1`` and ``1`` equals ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def values_equal(actual: Any, expected: Any) -> bool:
    """Equal as stripped strings, or as JSON values when both read as JSON (``"42"`` equals ``42``)."""
    if isinstance(actual, str) and isinstance(expected, str) and actual.strip() == expected.strip():
        return True
    left, right = _as_json_value(actual), _as_json_value(expected)
    if left is _MISSING or right is _MISSING:
        return False
    return json_equal(left, right)


class _Equal(_PathGrader[C], Generic[C]):
    """Shared by equals and json-field."""

    async def grade(self, ctx: GraderContext) -> Grade:
        """Compare the output with the expected value."""
        expected = expected_value(self.spec.value, ctx.case, self.parts, self.where)
        if self.parts:
            actual = output_at(ctx, self.parts)
        else:
            parsed = parsed_output(ctx)
            text = output_text(ctx, None)
            # Compare text with text first so '007' equals '007' even though JSON would read it as 7.
            actual = text if isinstance(expected, str) or not is_json(parsed) else parsed
        ok = values_equal(actual, expected)
        reason = said("polish.grade.equals" if ok else "polish.grade.not_equal", actual=_short(actual),
                      expected=_short(expected))  # fmt: skip
        return self.check(ok, reason, expected=expected)


class Equals(_Equal[EqualsSettings]):
    """The output (or the field at ``path``) equals the expected value; JSON-aware, outer whitespace ignored."""

    Settings = EqualsSettings


class JsonField(_Equal[JsonFieldSettings]):
    """The output's JSON field at ``path`` equals the expected value (the case's expected at that path)."""

    Settings = JsonFieldSettings

    def __init__(self, spec: JsonFieldSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        if self.parts is None:
            raise ConfigError(
                t("house2.grade.json_field_path"), where=self.where, hint=t("house2.grade.json_field_hint")
            )


def _needle(value: Any) -> str:
    if isinstance(value, dict | list):
        raise GradingError(said("house2.grade.needle", value=_short(value)))
    return as_text(value)


class _Contains(_PathGrader[C], Generic[C]):
    """The output contains the expected text; ``icontains`` ignores case (Unicode case folding)."""

    def __init__(self, spec: C, *, where: str | None = None, ignore_case: bool = False) -> None:
        super().__init__(spec, where=where)
        self.fold = ignore_case or self._ignore_case()

    async def grade(self, ctx: GraderContext) -> Grade:
        """Look for the expected text in the output."""
        needle = _needle(expected_value(self.spec.value, ctx.case, self.parts, self.where))
        haystack = output_text(ctx, self.parts)
        ok = _fold(needle, self.fold) in _fold(haystack, self.fold)
        reason = said("polish.grade.found" if ok else "polish.grade.not_found", needle=_short(needle))
        return self.check(ok, reason, expected=needle)


class Contains(_Contains[ContainsSettings]):
    """The output contains the expected text (``options.ignore_case`` to ignore case)."""

    Settings = ContainsSettings

    def __init__(self, spec: ContainsSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)


class IContains(_Contains[IContainsSettings]):
    """``contains`` ignoring case."""

    Settings = IContainsSettings

    def __init__(self, spec: IContainsSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where, ignore_case=True)


def _fold(text: str, fold: bool) -> str:
    return text.casefold() if fold else text


class _ContainsMany(_PathGrader[M], Generic[M]):
    """Shared by contains-any and contains-all: a non-empty list of texts to look for."""

    def __init__(self, spec: M, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        if isinstance(spec.value, list) and not spec.value:
            raise ConfigError(t("house2.grade.many_empty", kind=spec.base_type), where=f"{self.where}.value")

    def _needles(self, ctx: GraderContext) -> list[str]:
        expected = expected_value(self.spec.value, ctx.case, self.parts, self.where)
        items = expected if isinstance(expected, list) else [expected]
        if not items:
            raise GradingError(said("house2.grade.many_nothing", kind=self.spec.base_type))
        return [_needle(item) for item in items]

    def _found(self, ctx: GraderContext) -> tuple[list[str], list[str]]:
        needles = self._needles(ctx)
        fold = self._ignore_case()
        haystack = _fold(output_text(ctx, self.parts), fold)
        found = [n for n in needles if _fold(n, fold) in haystack]
        missing = [n for n in needles if _fold(n, fold) not in haystack]
        return found, missing


class ContainsAny(_ContainsMany[ContainsAnySettings]):
    """At least one of the texts is in the output (``options.ignore_case`` to ignore case)."""

    Settings = ContainsAnySettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Pass when any text is found."""
        found, missing = self._found(ctx)
        reason = (
            said("polish.grade.found_some", found=", ".join(map(_short, found)))
            if found
            else said("polish.grade.found_none", missing=str(missing))
        )
        return self.check(bool(found), reason, expected=found + missing)


class ContainsAll(_ContainsMany[ContainsAllSettings]):
    """Every text is in the output; the score is the fraction found (``options.ignore_case`` to ignore case)."""

    Settings = ContainsAllSettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Pass when all texts are found."""
        found, missing = self._found(ctx)
        total = len(found) + len(missing)
        reason = (
            said("polish.grade.found_all", total=total)
            if not missing
            else said("polish.grade.missing", missing=", ".join(map(_short, missing)))
        )
        return self.verdict(len(found) / total, not missing, reason, expected=found + missing)


class Regex(_PathGrader[RegexSettings]):
    """``re.search`` of the pattern in ``value:`` over the output; a bad pattern fails at config time."""

    Settings = RegexSettings

    def __init__(self, spec: RegexSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.flags = re.IGNORECASE if self._ignore_case() else 0
        pattern = spec.value or ""
        self.compiled: re.Pattern[str] | None = None
        if not has_template(pattern):
            self.compiled = self._compile(pattern, error=ConfigError)

    def _compile(self, pattern: str, *, error: type[Exception]) -> re.Pattern[str]:
        try:
            return re.compile(pattern, self.flags)
        except re.error as exc:
            values = {"pattern": pattern, "error": str(exc)}
            if error is ConfigError:
                raise ConfigError(
                    t("house2.grade.bad_regex", **values),
                    where=f"{self.where}.value",
                    hint=t("house2.grade.regex_hint"),
                ) from None
            raise GradingError(said("house2.grade.bad_regex", **values)) from None

    async def grade(self, ctx: GraderContext) -> Grade:
        """Search the output for the pattern."""
        compiled = self.compiled
        if compiled is None:
            rendered = expected_value(self.spec.value, ctx.case, self.parts, self.where)
            compiled = self._compile(as_text(rendered), error=GradingError)
        match = compiled.search(output_text(ctx, self.parts))
        reason = (
            said("polish.grade.matched", match=_short(match.group(0)))
            if match
            else said("polish.grade.no_match", pattern=compiled.pattern)
        )
        return self.check(match is not None, reason, expected=compiled.pattern)


class Label(_PathGrader[LabelSettings]):
    """A classification: the label read from the output (the field at ``path``, or the whole text) vs expected.

    Compared ignoring case and outer whitespace. ``options.labels`` lists the known labels: a predicted
    label is then reported in their spelling, which keeps the confusion matrix to one row per label.
    """

    Settings = LabelSettings

    def __init__(self, spec: LabelSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.labels: dict[str, str] = {x.strip().casefold(): x.strip() for x in spec.options.labels or ()}

    def _canonical(self, label: str) -> str:
        return self.labels.get(label.casefold(), label)

    async def grade(self, ctx: GraderContext) -> Grade:
        """Read the predicted label and compare it with the expected one."""
        expected = self._canonical(expected_label(self.spec.value, ctx.case, self.parts, self.where))
        try:
            predicted = output_text(ctx, self.parts).strip()
        except Ungradable as exc:
            raise type(exc)(exc.said or exc.reason, expected=expected) from None
        ok = predicted.casefold() == expected.casefold()
        predicted = expected if ok else self._canonical(predicted)
        reason = said("polish.grade.label", predicted=_short(predicted), expected=_short(expected))
        return self.check(ok, reason, expected=expected, predicted=predicted)
