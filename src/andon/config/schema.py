"""The andon.yaml schema (Pydantic v2): providers, prices, features and their versions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.config.criteria import check_grader_names, parse_criterion
from andon.config.graders import DOTTED_PATH, GRADER_TYPES, GraderEntry, GraderSettings, GraderSpec
from andon.config.providers import ProviderConfig, ProviderEntry

__all__ = [
    "GRADER_TYPES",
    "CacheConfig",
    "DataUseConfig",
    "FeatureConfig",
    "GatewayConfig",
    "GraderSettings",
    "GraderSpec",
    "Params",
    "Price",
    "ProviderConfig",
    "RoutingConfig",
    "ServeConfig",
    "Step",
    "VersionSpec",
    "WorkspaceConfig",
]

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Params(_Strict):
    """Sampling and output parameters sent to the model."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = None
    stop: list[str] | None = None
    json_mode: bool = Field(default=False, description="Ask for a JSON object (no schema).")
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Constrain the output to this JSON Schema (implies JSON output)."
    )


class Step(_Strict):
    """One step of a version: a model call, or a ``python`` rule check that may finish the pipeline."""

    name: Name = "main"
    provider: str | None = Field(default=None, description="A name under `providers:`.")
    model: str | None = None
    system: str | None = Field(default=None, description="System instructions (Jinja2 template).")
    prompt: str | None = Field(default=None, description="User prompt (sandboxed Jinja2 template).")
    images: list[str] = Field(
        default_factory=list, description="Variable names whose values are image files, URLs or bytes."
    )
    params: Params = Field(default_factory=Params)
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema the parsed output must satisfy."
    )
    python: str | None = Field(
        default=None, description="`package.module:function` run instead of a model (a rule check)."
    )

    @field_validator("python")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and not DOTTED_PATH.match(value):
            raise ValueError("must look like 'package.module:function'")
        return value

    @model_validator(mode="after")
    def _kind(self) -> Step:
        if self.python is None and self.prompt is None:
            raise ValueError("a step needs either `prompt` (a model call) or `python` (a rule check)")
        if self.python is not None and (self.prompt is not None or self.system is not None):
            raise ValueError("a `python` step takes no `prompt` or `system`; split it into two steps")
        return self


class VersionSpec(_Strict):
    """A prompt version as written in andon.yaml: one step inline, or ``steps:``."""

    description: str | None = Field(default=None, description="Notes; not part of the version id.")
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    prompt: str | None = None
    images: list[str] = Field(default_factory=list)
    params: Params = Field(default_factory=Params)
    output_schema: dict[str, Any] | None = None
    python: str | None = None
    steps: list[Step] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> VersionSpec:
        inline = self.prompt is not None or self.python is not None
        if self.steps is not None and inline:
            raise ValueError("write either one inline step (prompt/python) or `steps:`, not both")
        if self.steps is None and not inline:
            raise ValueError("a version needs `prompt`, `python` or `steps`")
        if self.steps is not None:
            if not self.steps:
                raise ValueError("`steps` must not be empty")
            names = [s.name for s in self.steps]
            if len(set(names)) != len(names):
                raise ValueError(f"step names must be unique, got {names}")
        return self

    def normalized_steps(self) -> list[Step]:
        """The version as a list of steps; the inline form becomes one step named ``main``."""
        if self.steps is not None:
            return list(self.steps)
        return [
            Step(
                provider=self.provider,
                model=self.model,
                system=self.system,
                prompt=self.prompt,
                images=self.images,
                params=self.params,
                output_schema=self.output_schema,
                python=self.python,
            )
        ]


class Price(_Strict):
    """Price of one model per 1M tokens."""

    provider: str = Field(default="*", description="Provider name, or * for any.")
    model: str = Field(description="Model name, or * for any model of the provider.")
    input_per_1m: Decimal = Field(ge=0)
    output_per_1m: Decimal = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


REDACTIONS = ("api_keys", "emails", "phones", "rrn", "cards")


class CacheConfig(_Strict):
    """Per-feature answer cache: exact matches, and optionally semantic ones above a cosine threshold."""

    enabled: bool = False
    semantic: bool = Field(default=True, description="Also serve near-identical inputs (embedding cosine).")
    threshold: float | None = Field(
        default=None, ge=-1, le=1, description="Cosine for a semantic hit; default: measured, stricter for free text."
    )
    ttl_s: int = Field(default=86_400, ge=1, description="How long an answer may be served from the cache.")
    judge: str | None = Field(
        default=None, description="Provider (or FEATURE:VERSION) asked to confirm each semantic hit."
    )
    fields: list[str] | None = Field(
        default=None,
        description="Variables matched by meaning; default: all text ones. Others a prompt reads must match exactly.",
    )
    share_across_keys: bool = Field(
        default=False, description="Serve one API key's cached answers to other keys (same tenant); default: never."
    )


class RoutingConfig(_Strict):
    """When a call goes to a human instead of (or beside) the AI."""

    confidence_path: str | None = Field(default=None, description="Dot path of a 0–1 confidence in the output JSON.")
    min_confidence: float | None = Field(default=None, ge=0, le=1, description="Below this, route to the review queue.")
    policy: str | None = Field(
        default=None, description="`package.module:function(variables, output) -> 'ai' | 'human' | None`."
    )
    shadow: bool = Field(
        default=False, description="The AI answers, and every call also goes to a human (shadow mode)."
    )
    fallback: str = Field(
        default="queue", description="On provider failure: `queue` (human review), `off`, or a version name."
    )


class DataUseConfig(_Strict):
    """What the gateway keeps of production inputs, and whether they may become test cases."""

    inputs: Literal["full", "redacted", "hash"] = Field(
        default="redacted", description="How inputs are stored in traces."
    )
    redact: list[str] = Field(
        default_factory=lambda: list(REDACTIONS), description=f"Which of {', '.join(REDACTIONS)}."
    )
    retention_days: int = Field(default=30, ge=1, le=3650, description="Traces older than this are pruned.")

    @field_validator("redact")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        unknown = sorted(set(values) - set(REDACTIONS))
        if unknown:
            raise ValueError(f"unknown redaction(s) {unknown}; known: {', '.join(REDACTIONS)}")
        return values


class ServeConfig(_Strict):
    """How a feature is served by the gateway."""

    live: str | None = Field(
        default=None,
        description="Version served before any `andon promote`, if it passes the same gate (default: nothing live).",
    )
    cache: CacheConfig = Field(default_factory=CacheConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    data_use: DataUseConfig = Field(default_factory=DataUseConfig)


class FeatureConfig(BaseModel):
    """One AI feature: versions, the dataset and graders that evaluate them, and success criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    versions: dict[Name, VersionSpec] = Field(default_factory=dict)
    dataset: str | None = Field(default=None, description="Test cases: a YAML, JSONL or CSV file in the workspace.")
    graders: list[GraderEntry] = Field(
        default_factory=list, description="Each grader's own fields depend on its `type` (see the grader types)."
    )
    pass_threshold: float = Field(default=1.0, ge=0, le=1, description="A case passes at this weighted score.")
    criteria: list[str] = Field(default_factory=list, description="e.g. 'accuracy >= 0.95', 'p95_latency_ms <= 2000'.")
    strict: bool = Field(default=False, description="Judge criteria on the pessimistic interval bound.")
    repeats: int = Field(default=1, ge=1, le=100, description="Independent samples per case.")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level of comparisons.")
    serve: ServeConfig = Field(default_factory=ServeConfig)

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, values: list[str]) -> list[str]:
        for text in values:
            parse_criterion(text)
        return values

    @model_validator(mode="after")
    def _criteria_graders(self) -> FeatureConfig:
        check_grader_names(self.criteria, [g.label for g in self.graders])
        return self


class GatewayConfig(_Strict):
    """The HTTP gateway (`andon serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    auth: bool = Field(default=True, description="Require an API key (create one with `andon keys create`).")
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    cors_origins: list[str] = Field(default_factory=list, description="Allowed browser origins; empty = CORS off.")
    allow_private_image_urls: bool = Field(default=False, description="Allow image URLs into private/loopback ranges.")
    image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    image_fetch_timeout_s: float = Field(default=10.0, gt=0)
    circuit_failures: int = Field(default=5, ge=1, description="Consecutive provider failures that open its circuit.")
    circuit_reset_s: float = Field(
        default=30.0, gt=0, description="How long an open circuit waits before a trial call."
    )
    group_commit_ms: float = Field(default=5.0, ge=0, description="How long a trace may wait to share a commit.")


class WorkspaceConfig(BaseModel):
    """The whole of andon.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    andon: Literal[1] = Field(default=1, description="Config format version.")
    name: str = "andon"
    language: str = Field(default="en", description="Language of messages and reports: en or ko.")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="Currency for reports.")
    exchange_rates: dict[str, Decimal] = Field(
        default_factory=dict, description="Units of `currency` per 1 unit of another, e.g. {USD: 1450}."
    )
    providers: dict[Name, ProviderEntry] = Field(default_factory=dict)
    prices: list[Price] = Field(default_factory=list)
    features: dict[Name, FeatureConfig] = Field(default_factory=dict)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
