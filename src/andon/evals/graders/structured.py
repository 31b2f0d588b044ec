"""Structured-output graders: is-json, json-schema and numeric (within a tolerance)."""

from __future__ import annotations

import math
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, best_match

from andon.config.graders import IsJsonSettings, JsonSchemaSettings, NumericSettings
from andon.config.json_values import parse_number, split_path
from andon.errors import ConfigError
from andon.evals.graders.base import GraderContext, GradingError, SpecGrader, Ungradable, said
from andon.evals.graders.values import expected_value, is_json, output_at, output_text, parsed_output
from andon.evals.model import Grade
from andon.messages import t

__all__ = ["IsJson", "JsonSchema", "Numeric", "parse_number"]


def schema_validator(schema: dict[str, Any], where: str) -> Any:
    """A validator for a JSON Schema from andon.yaml; a schema that is not valid is a ConfigError at ``where``."""
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        at = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ConfigError(t("house2.grade.schema_invalid", at=at, error=exc.message), where=where) from None
    return cls(schema)


class IsJson(SpecGrader[IsJsonSettings]):
    """The output is valid JSON (strict: no Markdown fence, no trailing text)."""

    Settings = IsJsonSettings

    async def grade(self, ctx: GraderContext) -> Grade:
        """Parse the output."""
        ok = is_json(parsed_output(ctx))
        return self.check(ok, said("polish.grade.json" if ok else "polish.grade.not_json"))


class JsonSchema(SpecGrader[JsonSchemaSettings]):
    """The output (or the field at ``path``) is JSON matching the schema in ``value:``."""

    Settings = JsonSchemaSettings

    def __init__(self, spec: JsonSchemaSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        if spec.value is None:
            raise ConfigError(
                t("house2.grade.schema_needed"), where=f"{self.where}.value", hint=t("house2.grade.schema_hint")
            )
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None
        self.validator = schema_validator(spec.value, f"{self.where}.value")

    async def grade(self, ctx: GraderContext) -> Grade:
        """Validate the output; the reason names the most relevant violation and where it is."""
        if self.parts:
            instance = output_at(ctx, self.parts)
        else:
            instance = parsed_output(ctx)
            if not is_json(instance):
                return self.check(False, said("polish.grade.not_json"))
        error = best_match(self.validator.iter_errors(instance))
        if error is None:
            return self.check(True, said("polish.grade.schema_ok"))
        at = ".".join(str(p) for p in error.absolute_path) or "(root)"
        return self.check(False, said("polish.grade.schema_at", at=at, problem=error.message))


class Numeric(SpecGrader[NumericSettings]):
    """The output (or the field at ``path``) is a number within ``tolerance`` (default 0) of the expected one."""

    Settings = NumericSettings

    def __init__(self, spec: NumericSettings, *, where: str | None = None) -> None:
        super().__init__(spec, where=where)
        self.parts = split_path(spec.path, f"{self.where}.path") if spec.path else None
        self.tolerance = spec.tolerance or 0.0

    async def grade(self, ctx: GraderContext) -> Grade:
        """Compare the two numbers."""
        raw_expected = expected_value(self.spec.value, ctx.case, self.parts, self.where)
        expected = parse_number(raw_expected)
        if expected is None:
            raise GradingError(said("house2.grade.expected_number", value=repr(raw_expected)))
        raw = output_at(ctx, self.parts) if self.parts else output_text(ctx, None)
        actual = parse_number(raw)
        if actual is None:
            shown = raw if len(str(raw)) <= 80 else str(raw)[:79] + "…"
            raise Ungradable(said("polish.grade.not_a_number", output=repr(shown)), expected=expected)
        difference = abs(actual - expected)
        # A relative hair of slack so 0.1 + 0.2 counts as 0.3 when the tolerance is zero.
        ok = difference <= self.tolerance or math.isclose(actual, expected, rel_tol=1e-9)
        reason = said(
            "polish.grade.numeric_ok" if ok else "polish.grade.numeric_off",
            actual=f"{actual:g}",
            expected=f"{expected:g}",
            difference=f"{difference:g}",
            tolerance=f"{self.tolerance:g}",
        )
        return self.check(ok, reason, expected=expected)
