"""Reading what graders compare: the output (whole, as JSON, or at a dot path) and the expected value."""

from __future__ import annotations

import json
from typing import Any

from andon.config.json_values import MissingPath, lookup, split_path
from andon.errors import TemplateError
from andon.evals.graders.base import GraderContext, GradingError, Ungradable, said
from andon.evals.model import Case
from andon.versions.render import render_template

__all__ = [
    "MissingPath",
    "as_text",
    "expected_label",
    "expected_value",
    "has_template",
    "is_json",
    "lookup",
    "output_at",
    "output_text",
    "parsed_output",
    "render_value",
    "split_path",
    "template_scope",
]


_NOT_JSON = object()


def parsed_output(ctx: GraderContext) -> Any:
    """The output as JSON: the parsed value when there is one, else the text parsed; ``_NOT_JSON`` if neither."""
    if ctx.output_json is not None:
        return ctx.output_json
    if ctx.output_text is None:
        return _NOT_JSON
    try:
        return json.loads(ctx.output_text)
    except ValueError:
        return _NOT_JSON


def is_json(value: Any) -> bool:
    """False for the sentinel :func:`parsed_output` gives when the output is not JSON."""
    return value is not _NOT_JSON


def output_at(ctx: GraderContext, parts: tuple[str, ...]) -> Any:
    """The output's JSON value at ``parts``; a non-JSON output or a missing field is :class:`Ungradable`."""
    data = parsed_output(ctx)
    dotted = ".".join(parts)
    if not is_json(data):
        raise Ungradable(said("polish.grade.no_field_not_json", field=repr(dotted)))
    try:
        return lookup(data, parts)
    except MissingPath as exc:
        raise Ungradable(said("house2.grade.output_has", missing={"key": exc.key, "values": exc.values})) from None


def as_text(value: Any) -> str:
    """Strings as they are; any other JSON value in its compact JSON form."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def output_text(ctx: GraderContext, parts: tuple[str, ...] | None) -> str:
    """The text a text grader reads: the field at ``parts`` (as text), else the whole output text."""
    if parts:
        return as_text(output_at(ctx, parts))
    if ctx.output_text is not None:
        return ctx.output_text
    return "" if ctx.output_json is None else as_text(ctx.output_json)


def template_scope(case: Case) -> dict[str, Any]:
    """Names a grader template sees: the case's variables, plus vars, expected, label, tags and case_id."""
    return {
        **case.vars,
        "vars": case.vars,
        "expected": case.expected,
        "label": case.label,
        "tags": list(case.tags),
        "case_id": case.id,
    }


def has_template(text: str) -> bool:
    """Only ``{{ … }}`` and ``{% … %}`` make a template, so regexes with ``{2,3}`` stay literal."""
    return "{{" in text or "{%" in text


def render_value(value: Any, case: Case, where: str) -> Any:
    """``value`` with every templated string rendered over the case (inside lists and mappings too)."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        try:
            return render_template(value, template_scope(case), where)
        except TemplateError as exc:
            raise GradingError(said("house2.grade.render_expected", error=str(exc))) from None
    if isinstance(value, list):
        return [render_value(v, case, where) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, case, where) for k, v in value.items()}
    return value


def expected_value(value: Any, case: Case, parts: tuple[str, ...] | None, where: str) -> Any:
    """``value`` (the grader's ``value:``, rendered) when given; else the case's expected, at the same path."""
    if value is not None:
        return render_value(value, case, f"{where}.value")
    expected = case.expected
    if parts and isinstance(expected, dict):
        try:
            return lookup(expected, parts)
        except MissingPath as exc:
            raise GradingError(
                said("house2.grade.expected_has", missing={"key": exc.key, "values": exc.values})
            ) from None
    if expected is None:
        raise GradingError(said("house2.grade.nothing_to_compare"))
    return expected


def expected_label(value: Any, case: Case, parts: tuple[str, ...] | None, where: str) -> str:
    """The label a ``label`` grader expects: ``value``, else the case's label, else its expected value."""
    if value is not None:
        return as_text(render_value(value, case, f"{where}.value")).strip()
    if case.label is not None:
        return case.label.strip()
    expected = expected_value(None, case, parts, where)
    if isinstance(expected, dict | list):
        raise GradingError(said("house2.grade.no_label"))
    return as_text(expected).strip()
