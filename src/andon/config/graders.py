"""Graders in andon.yaml: the fields every grader has, each built-in type's own settings, and the union by ``type``.

A plugin grader declares its own ``Settings`` (a subclass of :class:`GraderSettings`) on its class; the loader
validates its entries against it when andon.yaml is loaded, so a typo in any grader's settings is a
file:line error. ``not-`` before a type negates it (e.g. ``not-contains``) and takes the same settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    field_validator,
    model_validator,
)

from andon.config.tagged import by_type, plugin_tag
from andon.extensions import GRADERS
from andon.messages import t
from andon.plugins import Registry

DOTTED_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
TAG_PREFIX = "grader="  # pydantic puts a union's tag into error locations; the loader drops segments so marked

GROUP = GRADERS.group  # as andon.extensions lists it

# Imported only when used, so plain graders never load the embedding model's package; a plugin cannot
# take over a built-in name. The loader resolves only plugin names here, never these.
BUILTINS: dict[str, str] = {
    "equals": "andon.evals.graders.text:Equals",
    "contains": "andon.evals.graders.text:Contains",
    "icontains": "andon.evals.graders.text:IContains",
    "contains-any": "andon.evals.graders.text:ContainsAny",
    "contains-all": "andon.evals.graders.text:ContainsAll",
    "regex": "andon.evals.graders.text:Regex",
    "label": "andon.evals.graders.text:Label",
    "json-field": "andon.evals.graders.text:JsonField",
    "is-json": "andon.evals.graders.structured:IsJson",
    "json-schema": "andon.evals.graders.structured:JsonSchema",
    "numeric": "andon.evals.graders.structured:Numeric",
    "similar": "andon.evals.graders.similarity:Similar",
    "llm-rubric": "andon.evals.graders.rubric:LlmRubric",
    "groundedness": "andon.evals.graders.grounded:Groundedness",
    "citations": "andon.evals.graders.grounded:Citations",
    "python": "andon.evals.graders.python_grader:PythonGrader",
    # Trajectory graders (issue 14): the path an agent took, read from the output's provenance steps.
    "tool-called": "andon.evals.graders.trajectory:ToolCalled",
    "tool-not-called": "andon.evals.graders.trajectory:ToolNotCalled",
    "tool-order": "andon.evals.graders.trajectory:ToolOrder",
    "handoff": "andon.evals.graders.trajectory:Handoff",
    "turns": "andon.evals.graders.trajectory:Turns",
    "clarify": "andon.evals.graders.trajectory:Clarify",
    "final-state": "andon.evals.graders.trajectory:FinalState",
}

REGISTRY = Registry(GROUP, GRADERS.kind, BUILTINS)


class GraderSettings(BaseModel):
    """What every grader has: its type, name, weight and the judge-agreement bar; subclasses add their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="The grader type, optionally prefixed `not-` to negate it.")
    name: str | None = Field(default=None, description="Shown in reports; defaults to the type.")
    weight: float = Field(default=1.0, ge=0)
    min_kappa: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Refuse to gate on this judge when its kappa vs human labels is lower.",
    )

    @property
    def base_type(self) -> str:
        """The type without a ``not-`` prefix."""
        return self.type.removeprefix("not-")

    @property
    def negated(self) -> bool:
        """Whether the grade is inverted."""
        return self.type.startswith("not-")

    @property
    def label(self) -> str:
        """The grader's display name."""
        path = getattr(self, "path", None)
        return self.name or (f"{self.type}:{path}" if isinstance(path, str) and path else self.type)


class GraderSpec(GraderSettings):
    """A grader entry whose type's own settings are not checked yet: a plugin's, or one built in Python.

    Unknown fields are kept; :func:`andon.evals.graders.build_grader` (and the loader, for andon.yaml)
    validates them against the type's settings.
    """

    model_config = ConfigDict(extra="allow", frozen=True)


class TextOptions(BaseModel):
    """``options`` of the text graders."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ignore_case: bool = Field(default=False, description="Compare ignoring case (Unicode case folding).")


class LabelOptions(BaseModel):
    """``options`` of the label grader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[str] | None = Field(
        default=None, description="The known labels: predictions are reported in their spelling."
    )


class PathSettings(GraderSettings):
    path: str | None = Field(default=None, description="Dot path into the output JSON, e.g. decision or items.0.name.")


class ComparedSettings(PathSettings):
    value: Any = Field(default=None, description="What to compare with; default: the case's expected value.")


class EqualsSettings(ComparedSettings):
    """``equals``: the output (or the field at ``path``) equals the expected value."""

    type: Literal["equals", "not-equals"]


class JsonFieldSettings(ComparedSettings):
    """``json-field``: the output's JSON field at ``path`` equals the expected value."""

    type: Literal["json-field", "not-json-field"]


class ContainsSettings(ComparedSettings):
    """``contains``: the output contains the expected text."""

    type: Literal["contains", "not-contains"]
    options: TextOptions = Field(default_factory=TextOptions)


class IContainsSettings(ComparedSettings):
    """``icontains``: ``contains`` ignoring case."""

    type: Literal["icontains", "not-icontains"]
    options: TextOptions = Field(default_factory=TextOptions)


class ManySettings(ComparedSettings):
    value: list[Any] | None = Field(default=None, description="The texts to look for; default: the case's expected.")
    options: TextOptions = Field(default_factory=TextOptions)

    @field_validator("value", mode="before")
    @classmethod
    def _a_list(cls, value: Any, info: Any) -> Any:
        if value is not None and not isinstance(value, list):
            kind = info.data.get("type", "contains-any").removeprefix("not-")
            raise ValueError(t("house2.grader.list_value", kind=kind))
        return value


class ContainsAnySettings(ManySettings):
    """``contains-any``: at least one of the texts is in the output."""

    type: Literal["contains-any", "not-contains-any"]


class ContainsAllSettings(ManySettings):
    """``contains-all``: every text is in the output; the score is the fraction found."""

    type: Literal["contains-all", "not-contains-all"]


class RegexSettings(PathSettings):
    """``regex``: ``re.search`` of the pattern in ``value`` over the output."""

    type: Literal["regex", "not-regex"]
    value: str | None = Field(default=None, description="The pattern (a template over the case when it has {{ }}).")
    options: TextOptions = Field(default_factory=TextOptions)

    @field_validator("value", mode="before")
    @classmethod
    def _a_pattern(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(t("house2.grader.regex_value"))
        return value

    @model_validator(mode="after")
    def _needs_pattern(self) -> RegexSettings:
        if self.value is None:
            raise ValueError(t("house2.grader.regex_value"))
        return self


class LabelSettings(ComparedSettings):
    """``label``: the label read from the output vs the case's label, ignoring case and outer whitespace."""

    type: Literal["label", "not-label"]
    options: LabelOptions = Field(default_factory=LabelOptions)


class IsJsonSettings(GraderSettings):
    """``is-json``: the whole output is valid JSON (no Markdown fence, no trailing text)."""

    type: Literal["is-json", "not-is-json"]

    @model_validator(mode="before")
    @classmethod
    def _whole_output(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and (data.get("path") is not None or data.get("value") is not None):
            raise ValueError(t("house2.grader.is_json_whole"))
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if k not in ("path", "value")}
        return data


class JsonSchemaSettings(PathSettings):
    """``json-schema``: the output (or the field at ``path``) is JSON matching the schema in ``value``."""

    type: Literal["json-schema", "not-json-schema"]
    value: dict[str, Any] | None = Field(default=None, description="The JSON Schema, e.g. {type: object}.")


class NumericSettings(ComparedSettings):
    """``numeric``: a number within ``tolerance`` of the expected one."""

    type: Literal["numeric", "not-numeric"]
    tolerance: float | None = Field(default=None, ge=0, description="Allowed absolute difference (default 0).")


class SimilarSettings(ComparedSettings):
    """``similar``: the cosine of sentence embeddings reaches ``threshold``."""

    type: Literal["similar", "not-similar"]
    threshold: float | None = Field(default=None, description="Minimum cosine (default 0.5).")


class LlmRubricSettings(PathSettings):
    """``llm-rubric``: an LLM judge scores the output 0–10 against ``rubric``."""

    type: Literal["llm-rubric", "not-llm-rubric"]
    judge: str | None = Field(default=None, description="A provider name or FEATURE:VERSION.")
    model: str | None = Field(default=None, description="The judge's model when `judge` is a provider.")
    rubric: str | None = Field(default=None, description="What a good output does (Jinja2 template).")
    threshold: float | None = Field(default=None, description="Minimum normalised score (default 0.7).")

    @model_validator(mode="after")
    def _needs(self) -> LlmRubricSettings:
        if not self.judge or not self.rubric:
            raise ValueError(t("house2.grader.rubric_needs"))
        return self


class GroundednessSettings(LlmRubricSettings):
    """``groundedness``: an LLM judge checks that every claim of the answer is supported by a retrieved chunk."""

    type: Literal["groundedness", "not-groundedness"]  # type: ignore[assignment]
    rubric: str | None = Field(default=None, description="What else to require (Jinja2 template); optional.")

    @model_validator(mode="after")
    def _needs(self) -> GroundednessSettings:
        if not self.judge:
            raise ValueError(t("knowledge.grader.groundedness_needs"))
        return self


class CitationsSettings(PathSettings):
    """``citations``: every citation in the answer (``[2]``, a chunk id) names a chunk that was retrieved."""

    type: Literal["citations", "not-citations"]
    required: bool = Field(default=True, description="An answer without any citation fails.")
    against: Literal["retrieved", "relevant"] = Field(
        default="retrieved", description="`relevant`: a cited chunk must also match the case's `relevant:`."
    )


class PythonSettings(PathSettings):
    """``python``: your own function decides."""

    type: Literal["python", "not-python"]
    function: str | None = Field(default=None, description="`package.module:function`.")
    threshold: float | None = Field(default=None, description="A returned score passes at this (default 1.0).")

    @model_validator(mode="after")
    def _needs(self) -> PythonSettings:
        if not (self.function and DOTTED_PATH.match(self.function)):
            raise ValueError(t("house2.grader.python_needs"))
        return self


# --- trajectory graders (issue 14) ----------------------------------------------------------------------------


class ToolArgumentsSettings(GraderSettings):
    tool: str = Field(min_length=1, description="The tool's name, as the version defines it.")
    arguments: dict[str, Any] | None = Field(
        default=None, description="Values the call's arguments must have (each may be a template over the case)."
    )
    arguments_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema the call's arguments must match."
    )

    @property
    def label(self) -> str:
        """``tool-called:refund`` unless named: several tool graders stay apart in reports."""
        return self.name or f"{self.type}:{self.tool}"


class ToolCalledSettings(ToolArgumentsSettings):
    """``tool-called``: the run called ``tool`` (with matching arguments) at least ``at_least`` times."""

    type: Literal["tool-called", "not-tool-called"]
    at_least: int = Field(default=1, ge=0, description="Fewest matching calls that pass.")
    at_most: int | None = Field(default=None, ge=0, description="Most matching calls that pass (default: any).")

    @model_validator(mode="after")
    def _bounds(self) -> ToolCalledSettings:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(t("traj14.grader.bounds", at_least=self.at_least, at_most=self.at_most))
        return self


class ToolNotCalledSettings(ToolArgumentsSettings):
    """``tool-not-called``: the run never called ``tool`` (with matching arguments, when given)."""

    type: Literal["tool-not-called", "not-tool-not-called"]


class ToolOrderSettings(GraderSettings):
    """``tool-order``: the tools were called in this order (``subsequence``: others may come between)."""

    type: Literal["tool-order", "not-tool-order"]
    tools: list[str] = Field(min_length=1, description="Tool names in the order expected.")
    mode: Literal["subsequence", "exact"] = Field(
        default="subsequence", description="`exact`: exactly these calls, nothing else between or around."
    )


class HandoffSettings(GraderSettings):
    """``handoff``: the conversation was handed to agent ``to`` (a template over the case, e.g. {{ agent }})."""

    type: Literal["handoff", "not-handoff"]
    to: str = Field(min_length=1, description="The agent that should receive the conversation.")
    source: str | None = Field(default=None, description="Only handoffs from this agent count.")


class TurnsSettings(GraderSettings):
    """``turns``: the run took at most ``at_most`` model turns (or tool calls, with ``count: tool_calls``)."""

    type: Literal["turns", "not-turns"]
    at_most: int = Field(ge=0, description="The most turns (or tool calls) that pass.")
    count: Literal["turns", "tool_calls"] = Field(default="turns", description="What to count.")


class ClarifySettings(GraderSettings):
    """``clarify``: the run asked a clarifying question exactly when the case is ambiguous."""

    type: Literal["clarify", "not-clarify"]
    field: str = Field(
        default="ambiguous", min_length=1, description="The case variable (or tag) marking an ambiguous case."
    )
    penalise_clear: bool = Field(default=True, description="Asking on a clear case fails (else it passes).")


class FinalStateSettings(GraderSettings):
    """``final-state``: your function checks a tool's backing data, called with the case and the trajectory."""

    type: Literal["final-state", "not-final-state"]
    function: str = Field(description="`package.module:function`, called as function(case, trajectory).")

    @field_validator("function")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if not DOTTED_PATH.match(value):
            raise ValueError(t("traj14.grader.function", value=value))
        return value


class PluginSettings(ComparedSettings):
    """The settings of a plugin grader that declares none of its own: the fields every grader once shared."""

    tolerance: float | None = Field(default=None, ge=0)
    threshold: float | None = None
    judge: str | None = None
    model: str | None = None
    rubric: str | None = None
    function: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="The plugin's own settings.")


BUILTIN_SETTINGS: dict[str, type[GraderSettings]] = {
    "equals": EqualsSettings,
    "contains": ContainsSettings,
    "icontains": IContainsSettings,
    "contains-any": ContainsAnySettings,
    "contains-all": ContainsAllSettings,
    "regex": RegexSettings,
    "label": LabelSettings,
    "json-field": JsonFieldSettings,
    "is-json": IsJsonSettings,
    "json-schema": JsonSchemaSettings,
    "numeric": NumericSettings,
    "similar": SimilarSettings,
    "llm-rubric": LlmRubricSettings,
    "groundedness": GroundednessSettings,
    "citations": CitationsSettings,
    "python": PythonSettings,
    "tool-called": ToolCalledSettings,
    "tool-not-called": ToolNotCalledSettings,
    "tool-order": ToolOrderSettings,
    "handoff": HandoffSettings,
    "turns": TurnsSettings,
    "clarify": ClarifySettings,
    "final-state": FinalStateSettings,
}
GRADER_TYPES = tuple(BUILTIN_SETTINGS)
PLUGIN_TAG = plugin_tag(TAG_PREFIX)

_BY_TYPE = by_type(
    TAG_PREFIX,
    BUILTIN_SETTINGS,
    GraderSpec,
    base_type=lambda kind: kind.removeprefix("not-"),
    own_settings=GraderSettings,
)

# Typed as the base for code that reads a grader; validated (and shown by `andon schema`) as the union.
GraderEntry = Annotated[
    GraderSettings,
    GetPydanticSchema(lambda _source, handler: handler(_BY_TYPE)),
]


def recorded_grader(data: Any) -> Any:
    """A grader as a run recorded it, fit for its type's settings.

    Runs recorded before settings were typed carry every grader field (the unused ones null), which a
    type's settings refuse; a stored run must still rebuild its report, so only the type's own fields stay.
    """
    if not isinstance(data, Mapping):
        return data
    model = BUILTIN_SETTINGS.get(str(data.get("type", "")).removeprefix("not-"))
    if model is None:
        return dict(data)  # a plugin's: its own settings decide
    return {k: v for k, v in data.items() if k in model.model_fields and v is not None}


def settings_model(cls: object) -> type[GraderSettings]:
    """The settings model a grader class declares (``Settings``), else the shared plugin fields."""
    model = getattr(cls, "Settings", None)
    if isinstance(model, type) and issubclass(model, GraderSettings):
        return model
    return PluginSettings
