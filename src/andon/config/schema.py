"""The andon.yaml schema (Pydantic v2): providers, prices, features and their versions."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from andon.config.criteria import check_grader_names, parse_criterion

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]
DOTTED_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


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


class ProviderConfig(_Strict):
    """How to reach one provider; secrets come from ``${ENV}`` and never reach the store."""

    type: str = Field(description="openai, anthropic, local, python, or a plugin's entry-point name.")
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = Field(default=None, description="Default model for steps that name none.")
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)
    concurrency: int = Field(default=8, ge=1, le=10_000)
    rate_per_s: float | None = Field(
        default=None, gt=0, description="At most this many calls started per second (the provider's quota)."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Provider-specific settings.")


class Price(_Strict):
    """Price of one model per 1M tokens."""

    provider: str = Field(default="*", description="Provider name, or * for any.")
    model: str = Field(description="Model name, or * for any model of the provider.")
    input_per_1m: Decimal = Field(ge=0)
    output_per_1m: Decimal = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


GRADER_TYPES = (
    "equals", "contains", "icontains", "contains-any", "contains-all", "regex", "is-json", "json-schema",
    "json-field", "numeric", "label", "similar", "llm-rubric", "python",
)  # fmt: skip


class GraderSpec(_Strict):
    """One grader of a feature's outputs. ``not-`` before a type negates it (e.g. ``not-contains``)."""

    type: str = Field(description=f"One of {', '.join(GRADER_TYPES)} (or a plugin), optionally prefixed `not-`.")
    name: str | None = Field(default=None, description="Shown in reports; defaults to the type.")
    value: Any = Field(default=None, description="What to compare with; default: the case's expected value.")
    path: str | None = Field(default=None, description="Dot path into the output JSON, e.g. decision or items.0.name.")
    tolerance: float | None = Field(default=None, ge=0, description="numeric: allowed absolute difference.")
    threshold: float | None = Field(default=None, description="similar: minimum cosine; llm-rubric: minimum score.")
    weight: float = Field(default=1.0, ge=0)
    judge: str | None = Field(default=None, description="llm-rubric: a provider name or FEATURE:VERSION.")
    model: str | None = Field(default=None, description="llm-rubric: the judge's model when `judge` is a provider.")
    rubric: str | None = Field(default=None, description="llm-rubric: what a good output does (Jinja2 template).")
    function: str | None = Field(default=None, description="python: `package.module:function`.")
    min_kappa: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Refuse to gate on this judge when its kappa vs human labels is lower.",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Plugin graders' own settings.")

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
        return self.name or (f"{self.type}:{self.path}" if self.path else self.type)

    @model_validator(mode="after")
    def _needs(self) -> GraderSpec:
        kind = self.base_type
        if kind == "python" and not (self.function and DOTTED_PATH.match(self.function)):
            raise ValueError("a python grader needs `function: package.module:function`")
        if kind == "llm-rubric" and (not self.judge or not self.rubric):
            raise ValueError("an llm-rubric grader needs `judge:` (provider or FEATURE:VERSION) and `rubric:`")
        if kind == "regex" and not isinstance(self.value, str):
            raise ValueError("a regex grader needs `value:` with the pattern")
        if kind in ("contains-any", "contains-all") and self.value is not None and not isinstance(self.value, list):
            raise ValueError(f"{kind} takes a list in `value:`")
        return self


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
    chat_input: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_]\w*$",
        description="The variable a plain-text chat message fills (/v1/chat/completions).",
    )
    versions: dict[Name, VersionSpec] = Field(default_factory=dict)
    dataset: str | None = Field(default=None, description="Test cases: a YAML, JSONL or CSV file in the workspace.")
    graders: list[GraderSpec] = Field(default_factory=list)
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
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A request's headers must arrive within this time, or the connection closes (408).",
    )
    body_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="A request's body must arrive within this time after its headers, or the connection closes.",
    )
    models: list[str] = Field(
        default_factory=list,
        description="More PROVIDER/MODEL names /v1/chat/completions may call, beyond the models andon.yaml names.",
    )


# --- notifiers (issue 8): where incident stages are announced ---------------------------------------------

INCIDENT_STAGES = ("detected", "mitigated", "announced", "confirmed", "impact_assessed", "decided", "closed")


class NotifierConfig(_Strict):
    """One notifier under ``notifiers:``; ``type`` picks its typed settings (slack, webhook, email, a plugin)."""

    type: str = Field(description="slack, webhook, email, or a plugin's entry-point name (group andon.notifiers).")
    features: list[str] | None = Field(default=None, description="Only incidents of these features; default: all.")
    stages: list[str] | None = Field(
        default=None, description=f"Only these stages ({', '.join(INCIDENT_STAGES)}); default: all."
    )
    incident_url: str | None = Field(
        default=None, description="Link to an incident, `{id}` replaced, e.g. https://andon.example.com/incidents/{id}."
    )
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="How long one delivery may take.")
    max_attempts: int = Field(default=20, ge=1, le=1000, description="Deliveries tried before one is given up.")
    backoff_base_s: float = Field(default=5.0, gt=0, description="Wait after the first failure; doubles each time.")
    backoff_max_s: float = Field(default=3600.0, gt=0, description="Longest wait between two attempts.")

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, values: list[str] | None) -> list[str] | None:
        unknown = sorted(set(values or ()) - set(INCIDENT_STAGES))
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {', '.join(INCIDENT_STAGES)}")
        return values

    @field_validator("incident_url")
    @classmethod
    def _http_link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL, e.g. https://andon.example.com/incidents/{id}")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _typed(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # Dispatch on `type` by hand rather than with a tagged union: a tag would enter every error's
        # location (notifiers.team.slack.url) and the loader could no longer point at the right line.
        if cls is NotifierConfig and isinstance(data, dict):
            kind = data.get("type")
            if isinstance(kind, str):
                return _NOTIFIER_TYPES.get(kind, PluginNotifierConfig).model_validate(data)
        return handler(data)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls is not NotifierConfig:
            return schema
        # Every built-in type's fields, so editors (and the loader's "did you mean") know them all.
        kinds: list[type[NotifierConfig]] = [*_NOTIFIER_TYPES.values(), PluginNotifierConfig]
        variants = [handler.resolve_ref_schema(handler(t.__pydantic_core_schema__)) for t in kinds]
        properties: dict[str, Any] = {}
        for variant in variants:
            properties.update(variant.get("properties", {}))
        properties.update(schema.get("properties", {}))  # the base's own `type` (any string) wins
        return {**schema, "properties": properties, "additionalProperties": True}


def _http_url(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


class SlackNotifierConfig(NotifierConfig):
    """A Slack incoming webhook; the message uses Block Kit (stage, feature, monitor, link)."""

    type: Literal["slack"] = "slack"
    webhook_url: SecretStr = Field(description="https://hooks.slack.com/services/… (a secret: use ${ENV}).")

    _url = field_validator("webhook_url")(_http_url)


class WebhookNotifierConfig(NotifierConfig):
    """A JSON POST signed with HMAC-SHA256 over the timestamp and body (see andon.watch.notify.webhook)."""

    type: Literal["webhook"] = "webhook"
    url: SecretStr = Field(description="Where to POST (may carry a token: use ${ENV}).")
    secret: SecretStr = Field(min_length=16, description="Key of the HMAC-SHA256 signature, at least 16 characters.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers sent with every delivery.")

    _url = field_validator("url")(_http_url)


class EmailNotifierConfig(NotifierConfig):
    """E-mail over SMTP (STARTTLS by default; `ssl: true` for SMTPS on port 465)."""

    type: Literal["email"] = "email"
    host: str = Field(min_length=1, description="SMTP server.")
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = Field(default=None, description="A secret: use ${ENV}.")
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS (the server must offer it).")
    ssl: bool = Field(default=False, description="Connect with TLS from the start (SMTPS).")
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", description="The From address.")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1, description="Recipients.")

    @model_validator(mode="after")
    def _one_tls(self) -> EmailNotifierConfig:
        if self.ssl and self.starttls:
            raise ValueError("choose `ssl: true` (SMTPS) or `starttls: true`, not both")
        return self


class PluginNotifierConfig(NotifierConfig):
    """A notifier from a plugin: its own settings under ``options``, checked by the plugin's settings model."""

    options: dict[str, Any] = Field(default_factory=dict, description="The plugin notifier's own settings.")


_NOTIFIER_TYPES: dict[str, type[NotifierConfig]] = {
    "slack": SlackNotifierConfig,
    "webhook": WebhookNotifierConfig,
    "email": EmailNotifierConfig,
}


class AlertmanagerConfig(_Strict):
    """How ``POST /v1/alerts/alertmanager`` maps Prometheus alerts to features and what the cord does."""

    feature_label: str = Field(default="feature", min_length=1, description="The alert label naming the feature.")
    features: dict[str, str] = Field(
        default_factory=dict, description="Label value -> feature, when the values are not feature names."
    )
    action: Literal["stop", "rollback"] = Field(default="stop", description="What a firing alert does to the feature.")


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
    providers: dict[Name, ProviderConfig] = Field(default_factory=dict)
    prices: list[Price] = Field(default_factory=list)
    features: dict[Name, FeatureConfig] = Field(default_factory=dict)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    notifiers: dict[Name, NotifierConfig] = Field(default_factory=dict, description="Where incidents are announced.")
    alertmanager: AlertmanagerConfig = Field(default_factory=AlertmanagerConfig)
