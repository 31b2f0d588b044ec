"""The HTTP API's request and response bodies and path parameters (what /openapi.json documents)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.config.schema import NAME_PATTERN
from andon.gateway.http_errors import NO_NUL, StoredObject, json_problem
from andon.messages import t

MAX_ID = 200
T = TypeVar("T")


def _storable(value: T) -> T:
    problem = json_problem(value)
    if problem:
        raise ValueError(problem)
    return value


IdText = Annotated[str, Field(max_length=MAX_ID, pattern=NO_NUL)]
LongText = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]


class InvokeRequest(BaseModel):
    """A call of a feature: the case variables, and optionally a version and the caller's ids."""

    model_config = ConfigDict(extra="forbid")

    variables: StoredObject = Field(default_factory=dict, description="The case variables of the prompt.")
    version: IdText | None = Field(default=None, description="A version name or id; default: the live one.")
    user_id: IdText | None = None
    session_id: IdText | None = None
    tenant: IdText | None = Field(default=None, description="Isolates cached answers.")
    tags: StoredObject = Field(default_factory=dict, description="Stored on the trace.")

    @field_validator("variables", "tags")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _storable(value)


class InvokeResponse(BaseModel):
    """What a call returned: output (text and parsed JSON), trace, version, cache and route."""

    trace_id: str
    feature: str
    route: Literal["ai", "human", "shadow", "fallback"]
    status: str = Field(description="ok, queued (a human will answer) or error.")
    version_id: str | None
    version_name: str | None
    output_text: str | None = None
    output_json: Any = None
    cached: Literal["exact", "semantic"] | None = None
    review_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    ai_generated: bool = Field(
        default=False, description="An AI made this answer (also the X-Andon-AI-Generated header); false for humans."
    )
    ai_notice: str | None = Field(default=None, description="The notice to show with an AI-made answer.")
    guard: dict[str, Any] | None = Field(
        default=None,
        description="What a guard step did, when one acted: action (block, route, flag), checks, findings.",
    )


def _at_least_one(*branches: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """JSON Schema for "one of these fields, not null", so /openapi.json states what the validator checks."""
    return {"anyOf": [{"required": [name], "properties": {name: schema}} for name, schema in branches]}


class FeedbackRequest(BaseModel):
    """Feedback on a trace: a score, thumbs (+1 or -1), a comment, or several of them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_at_least_one(
            ("score", {"type": "number"}),
            ("thumbs", {"enum": [1, -1]}),
            ("comment", {"type": "string", "pattern": r"\S"}),
        ),
    )

    score: float | None = Field(default=None, allow_inf_nan=False)
    thumbs: Literal[1, -1] | None = None
    comment: LongText | None = None
    user_id: IdText | None = None

    @model_validator(mode="after")
    def _something(self) -> FeedbackRequest:
        if self.score is None and self.thumbs is None and not self.comment:
            raise ValueError(t("house3.http.feedback_empty"))
        return self


class FeedbackResponse(BaseModel):
    """Feedback was recorded."""

    trace_id: str
    recorded: bool = True


class DecisionRequest(BaseModel):
    """A human decision on a review item: a JSON object, a label, or both."""

    model_config = ConfigDict(
        extra="forbid",
        # A label of only spaces counts as none (the queue strips it).
        json_schema_extra=_at_least_one(
            ("decision", {"type": "object"}), ("label", {"type": "string", "pattern": r"\S"})
        ),
    )

    decision: StoredObject | None = None
    label: IdText | None = None
    comment: LongText | None = None

    @field_validator("decision")
    @classmethod
    def _plain_json(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _storable(value)


class ReviewItemOut(BaseModel):
    """A review item with the AI's suggestion and, once decided, the decision."""

    id: str
    feature: str
    reason: str
    status: str
    trace_id: str | None = None
    version_id: str | None = None
    input: Any = None
    suggestion_text: str | None = None
    suggestion_json: Any = None
    decision: Any = None
    label: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    exported_at: str | None = None
    created_at: str | None = None


class ReviewList(BaseModel):
    """Review items, oldest first."""

    items: list[ReviewItemOut]


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code``, a message for people, and how to fix it."""

    code: str = Field(description="Stable: invalid_request, unauthorized, forbidden, not_found, rate_limited, …")
    message: str
    type: str = Field(description="OpenAI's error type for the code, so OpenAI SDKs parse it.")
    hint: str | None = None
    trace_id: str | None = Field(default=None, description="The request's trace (or request) id, for bug reports.")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail


FeatureName = Annotated[str, Path(pattern=NAME_PATTERN, description="A feature declared in andon.yaml.")]
TraceId = Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL)]
ReviewId = Annotated[str, Path(min_length=1, max_length=MAX_ID, pattern=NO_NUL)]
