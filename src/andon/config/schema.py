"""The andon.yaml schema (Pydantic v2): providers, prices, features and their versions."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from andon.config.conversation import MessagesRef
from andon.config.criteria import check_grader_names, parse_criterion
from andon.config.durations import Duration as Duration  # re-exported: callers import them from here
from andon.config.durations import parse_duration as parse_duration
from andon.config.experiment import ExperimentConfig
from andon.config.flow import AgentName, AgentSpec, FlowLimits, check_flow, entry_name
from andon.config.graders import DOTTED_PATH, GRADER_TYPES, GraderEntry, GraderSettings, GraderSpec
from andon.config.guard import GuardSpec
from andon.config.knowledge import RetrieveSpec
from andon.config.live_judge import LiveJudgeConfig, check_live_grader
from andon.config.okr import OkrConfig
from andon.config.params import Params as Params  # re-exported: callers import it from here
from andon.config.providers import ProviderConfig, ProviderEntry
from andon.config.redactions import KINDS
from andon.config.redactions import REDACTIONS as REDACTIONS  # re-exported: callers import it from here
from andon.config.risk import RiskConfig
from andon.config.robustness import RobustnessConfig
from andon.config.rollout import RolloutConfig
from andon.config.tools import ToolEntry, check_tools
from andon.messages import t

__all__ = [
    "GRADER_TYPES",
    "CacheConfig",
    "DataUseConfig",
    "DatasetConfig",
    "DisclosureConfig",
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


class Step(_Strict):
    """One step of a version: a model call, a ``python`` rule check, or a ``guard``; the last two may finish it."""

    name: Name = "main"
    provider: str | None = Field(default=None, description="A name under `providers:`.")
    model: str | None = None
    system: str | None = Field(default=None, description="System instructions (Jinja2 template).")
    prompt: str | None = Field(default=None, description="User prompt (sandboxed Jinja2 template).")
    messages: MessagesRef | None = Field(default=None, description='The conversation so far: "{{ history }}".')
    tools: Annotated[list[ToolEntry], AfterValidator(check_tools)] = Field(default_factory=list)
    max_tool_calls: int = Field(default=8, ge=0, le=1000, description="Tool calls allowed before the step stops.")
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
    guard: GuardSpec | None = Field(
        default=None, description="Safety checks before (on: input) or after (on: output) the model (issue 15)."
    )
    retrieve: RetrieveSpec | None = Field(default=None, description="Chunks from a knowledge base (issue 18).")

    @property
    def kind(self) -> Literal["model", "python", "guard", "retrieve"]:
        """What the step is: a model call, a rule function, a guard, or a knowledge-base search."""
        if self.retrieve is not None:
            return "retrieve"
        return "guard" if self.guard is not None else "python" if self.python is not None else "model"

    @field_validator("python")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        if value is not None and not DOTTED_PATH.match(value):
            raise ValueError(t("house2.schema.dotted"))
        return value

    @model_validator(mode="after")
    def _kind(self) -> Step:
        if self.retrieve is not None:  # a retrieve step only searches: nothing else of a step applies
            return _retrieve_only(self)
        if self.guard is not None:
            fields = ("python", "prompt", "system", "messages", "output_schema")
            given = [f for f in fields if getattr(self, f) is not None]
            if given or self.images or (self.provider or "guard") != "guard":
                raise ValueError(t("guard.config.step_fields", fields=", ".join(given or ["provider", "images"])))
            return self
        if self.python is None and self.prompt is None and self.messages is None:
            raise ValueError(t("house2.schema.step_kind"))
        if self.python is not None and self.messages is not None:
            raise ValueError(t("agents.schema.python_messages"))
        if self.python is not None and (self.prompt is not None or self.system is not None):
            raise ValueError(t("house2.schema.python_step"))
        return self


def _retrieve_only(step: Step) -> Step:
    given = [f for f in ("python", "prompt", "system", "output_schema", "guard") if getattr(step, f) is not None]
    if given or step.images or step.provider not in {None, "retrieve"}:
        raise ValueError(t("knowledge.step.only", fields=", ".join(given) or "provider"))
    return step


class VersionSpec(_Strict):
    """A prompt version as written in andon.yaml: one step inline, or ``steps:``."""

    description: str | None = Field(default=None, description="Notes; not part of the version id.")
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    prompt: str | None = None
    messages: MessagesRef | None = None
    images: list[str] = Field(default_factory=list)
    params: Params = Field(default_factory=Params)
    output_schema: dict[str, Any] | None = None
    python: str | None = None
    steps: list[Step] | None = None
    # A flow (issue 14, config/flow.py): agents handing the conversation to each other instead of steps.
    agents: dict[AgentName, AgentSpec] | None = Field(default=None, description="A flow's agents, by name.")
    entry: str | None = Field(default=None, description="The agent that starts a flow (default: the first).")
    limits: FlowLimits | None = Field(default=None, description="When a flow stops: turns, tool calls, budget, time.")
    clarify: bool = Field(default=False, description="A flow's agents may answer with a clarifying question.")

    @model_validator(mode="after")
    def _one_form(self) -> VersionSpec:
        inline = self.prompt is not None or self.python is not None or self.messages is not None
        flow_fields = [f for f in ("entry", "limits") if getattr(self, f) is not None] + ["clarify"] * self.clarify
        check_flow(self.agents, self.entry, flow_fields)
        if self.agents is not None and (inline or self.steps is not None):
            raise ValueError(t("flow.config.one_form"))
        if self.agents is not None:
            return self
        if self.steps is not None and inline:
            raise ValueError(t("house2.schema.one_form"))
        if self.steps is None and not inline:
            raise ValueError(t("house2.schema.version_needs"))
        if self.steps is not None:
            if not self.steps:
                raise ValueError(t("house2.schema.steps_empty"))
            names = [s.name for s in self.steps]
            if len(set(names)) != len(names):
                raise ValueError(t("house2.schema.step_names", names=names))
        return self

    @field_validator("steps")
    @classmethod
    def _guards(cls, steps: list[Step] | None) -> list[Step] | None:
        if steps:
            _check_guards(steps)  # here, not in the model's validator: the error points at `steps:`
        return steps

    def normalized_steps(self) -> list[Step]:
        """The version as a list of steps; the inline form becomes one step named ``main``, a flow its entry agent."""
        if self.steps is not None:
            return list(self.steps)
        if self.agents is not None:
            name = entry_name(self.agents, self.entry)
            agent = self.agents.get(name) or next(iter(self.agents.values()))  # an unknown entry: the loader says so
            return [agent_step(name, agent)]
        return [
            Step(
                provider=self.provider,
                model=self.model,
                system=self.system,
                prompt=self.prompt,
                messages=self.messages,
                images=self.images,
                params=self.params,
                output_schema=self.output_schema,
                python=self.python,
            )
        ]


def agent_step(name: str, agent: AgentSpec) -> Step:
    """A flow's agent as the model step it runs as (its handoffs and turn limits are the flow's business)."""
    return Step(
        name=name,
        provider=agent.provider,
        model=agent.model,
        system=agent.instructions,
        prompt=agent.prompt,
        messages=agent.messages,
        images=agent.images,
        params=agent.params,
        tools=agent.tools,
        max_tool_calls=agent.max_tool_calls,
    )


def _check_guards(steps: list[Step]) -> None:
    """A version needs a step that answers; an output guard needs a step before it whose answer it reads."""
    if all(step.kind == "guard" for step in steps):
        raise ValueError(t("guard.config.only_guards"))
    for index, step in enumerate(steps):
        if step.guard is not None and step.guard.on == "output" and index == 0:
            raise ValueError(t("guard.config.output_first", step=step.name))


class Price(_Strict):
    """Price of one model per 1M tokens."""

    provider: str = Field(default="*", description="Provider name, or * for any.")
    model: str = Field(description="Model name, or * for any model of the provider.")
    input_per_1m: Decimal = Field(ge=0)
    output_per_1m: Decimal = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


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
    thresholds: Literal["fixed", "learned"] = Field(
        default="fixed",
        description="`fixed`: one cosine for every entry; `learned`: each entry's own, moved by the judge's "
        "verdicts, the guard's vetoes and feedback so that hits stay under max_error (threshold, if set, is the floor).",
    )
    max_error: float = Field(
        default=0.02, gt=0, lt=0.5, description="With `thresholds: learned`: the error rate of hits to stay under."
    )


class RoutingConfig(_Strict):
    """When a call goes to a human instead of (or beside) the AI."""

    confidence_path: str | None = Field(default=None, description="Dot path of a 0–1 confidence in the output JSON.")
    confidence_source: Literal["field", "logprob"] = Field(
        default="field",
        description="`field`: the number at confidence_path is the confidence; `logprob`: the model's probability "
        "of the value at confidence_path, from its token log-probabilities (params.logprobs: true on the step).",
    )
    min_confidence: float | None = Field(default=None, ge=0, le=1, description="Below this, route to the review queue.")
    policy: str | None = Field(
        default=None, description="`package.module:function(variables, output) -> 'ai' | 'human' | None`."
    )
    shadow: bool = Field(
        default=False, description="The AI answers, and every call also goes to a human (shadow mode)."
    )
    fallback: str = Field(
        default="queue",
        description="On provider failure and while the feature is stopped: `queue` (human review), `off` "
        "(refuse: HTTP 503 `feature_stopped` while stopped), or the name of a version that answers instead.",
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
    send: Literal["full", "masked"] = Field(
        default="full",
        description="What reaches the model: `full` (as rendered) or `masked` (detected personal data replaced "
        "by numbered placeholders such as [PHONE_1] before the provider call).",
    )
    mask: list[str] = Field(
        default_factory=lambda: list(REDACTIONS), description=f"With send: masked, which of {', '.join(REDACTIONS)}."
    )
    restore: bool = Field(
        default=True, description="With send: masked, put the original values back into the model's answer."
    )

    @field_validator("redact", "mask")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        unknown = sorted(set(values) - set(KINDS))
        if unknown:
            raise ValueError(t("house2.schema.redaction", unknown=unknown, known=", ".join(KINDS)))
        return values


class DisclosureConfig(_Strict):
    """The AI notice (issue 15): a machine-readable marker on every AI-made answer, and the text to show."""

    enabled: bool | None = Field(
        default=None,
        description="Mark AI-made answers; default: on when a version's step calls a model, off for rules only.",
    )
    text: dict[str, str] = Field(
        default_factory=dict,
        description="The notice per language code (en, ko …), e.g. ko: AI가 작성한 답변입니다; default: andon's own.",
    )


class ServeConfig(_Strict):
    """How a feature is served by the gateway."""

    live: str | None = Field(
        default=None,
        description="Version served before any `andon promote`, if it passes the same gate (default: nothing live).",
    )
    cache: CacheConfig = Field(default_factory=CacheConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    data_use: DataUseConfig = Field(default_factory=DataUseConfig)
    judge: LiveJudgeConfig | None = Field(
        default=None,
        description="Grade a sample of served AI answers with one of the feature's graders (e.g. an llm-rubric); "
        "the score lands in the trace's tags and feeds `judge_score` monitors with `source: {grader: NAME}`.",
    )


def _dataset_shorthand(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class DatasetConfig(_Strict):
    """A feature's test cases: the file, and where they came from (its licence, source and the people's consent).

    ``dataset: FILE`` is short for ``dataset: {path: FILE}``. It stands for its path where one is expected
    (``Path(feature.dataset)``, ``str(feature.dataset)``), so code written for the short form keeps working.
    """

    path: str = Field(min_length=1, description="A YAML, JSONL or CSV file in the workspace.")
    licence: str | None = Field(
        default=None, min_length=1, max_length=200, description="Its licence: an SPDX id (CC-BY-4.0) or `proprietary`."
    )
    source: str | None = Field(
        default=None, min_length=1, max_length=500, description="Where the cases come from: a URL, a team, a system."
    )
    consent: Literal["given", "not_needed", "unknown"] | None = Field(
        default=None,
        description="given: the people in the data agreed to this use; not_needed: synthetic, public or no personal "
        "data; unknown: nobody knows yet.",
    )

    @field_validator("licence", "source")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(t("risk.config.blank"))
        return value

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path


def _criterion(text: str) -> str:
    parse_criterion(text)
    return text


# Checked one by one, so an error's location is the criterion's own line in andon.yaml, not the list's.
CriterionText = Annotated[str, AfterValidator(_criterion)]


class FeatureConfig(BaseModel):
    """One AI feature: versions, the dataset and graders that evaluate them, and success criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    owner: str | None = Field(default=None, description="Who answers for the feature (a person or team).")
    risk: RiskConfig | None = Field(
        default=None, description="Its risk tier (minimal, limited, high-impact) and the checklist reasons for it."
    )
    chat_input: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_]\w*$",
        description="The variable a plain-text chat message fills (/v1/chat/completions).",
    )
    versions: dict[Name, VersionSpec] = Field(default_factory=dict)
    dataset: Annotated[DatasetConfig | None, BeforeValidator(_dataset_shorthand)] = Field(
        default=None, description="Test cases: a file in the workspace, or {path, licence, source, consent}."
    )
    graders: list[GraderEntry] = Field(
        default_factory=list, description="Each grader's own fields depend on its `type` (see the grader types)."
    )
    pass_threshold: float = Field(default=1.0, ge=0, le=1, description="A case passes at this weighted score.")
    criteria: list[CriterionText] = Field(
        default_factory=list, description="e.g. 'accuracy >= 0.95', 'p95_latency_ms <= 2000'."
    )
    strict: bool = Field(default=False, description="Judge criteria on the pessimistic interval bound.")
    repeats: int = Field(default=1, ge=1, le=100, description="Independent samples per case.")
    pass_k: int | None = Field(
        default=None, ge=1, le=100, description="k of the pass^k figure over repeats (default: every repeat)."
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level of comparisons.")
    serve: ServeConfig = Field(default_factory=ServeConfig)
    rollout: RolloutConfig | None = Field(default=None, description="Canary steps for `andon rollout start`.")
    experiments: dict[Name, ExperimentConfig] = Field(default_factory=dict, description="A/B tests of versions.")
    disclosure: DisclosureConfig = Field(default_factory=DisclosureConfig)
    robustness: RobustnessConfig | None = Field(
        default=None, description="Perturbation suites `andon eval` runs as paired cases (flip rate)."
    )

    @model_validator(mode="after")
    def _criteria_graders(self) -> FeatureConfig:
        check_grader_names(self.criteria, [g.label for g in self.graders])
        check_live_grader(self.serve.judge, [g.label for g in self.graders])
        return self


class GatewayConfig(_Strict):
    """The HTTP gateway (`andon serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    auth: bool = Field(default=True, description="Require an API key (create one with `andon keys create`).")
    key_cache_s: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="How long a verified API key is trusted without reading the store; a key revoked by "
        "`andon keys revoke` is refused at most this much later. 0 reads the store on every call.",
    )
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    rate_limit_redis: str | None = Field(
        default=None,
        description="Share per-key rate limits across workers and replicas through this Redis "
        "(redis://127.0.0.1:6379/0; install andon[redis]). Unset: each worker limits on its own.",
    )

    @field_validator("rate_limit_redis")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(t("house2.schema.redis_url", value=value))
        return value

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
    # OTLP export (issue 14): the spans of the gateway's own traces, sent in the background.
    otlp_endpoint: str | None = Field(
        default=None,
        description="Send the spans of every stored trace to this OTLP/HTTP traces receiver (protobuf), e.g. "
        "http://127.0.0.1:4318/v1/traces; batched in the background, dropped (and counted) when it cannot keep up.",
    )
    otlp_headers: dict[str, str] = Field(
        default_factory=dict, description='Headers of each export, e.g. authorization: "Bearer ${OTLP_TOKEN}".'
    )
    otlp_queue_spans: int = Field(default=20_000, ge=1, description="Spans waiting to be sent; past it, new ones drop.")
    otlp_timeout_s: float = Field(default=10.0, gt=0, description="How long one export may take.")

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(t("agents.otlp14.endpoint", value=value))
        return value


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
            raise ValueError(t("house2.schema.stages", unknown=unknown, known=", ".join(INCIDENT_STAGES)))
        return values

    @field_validator("incident_url")
    @classmethod
    def _http_link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(t("house2.schema.incident_url"))
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
        raise ValueError(t("house2.schema.http_url"))
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
            raise ValueError(t("house2.schema.one_tls"))
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


# --- monitors (andon.watch) ----------------------------------------------------------------------------


TRACE_METRICS = (
    "error_rate", "latency_p50_ms", "latency_p95_ms", "cost_per_hour", "calls_per_minute", "route_share",
    "label_share", "judge_score", "negative_feedback_rate", "cache_hit_rate", "review_backlog",
    "review_median_wait_s", "ai_human_agreement",
)  # fmt: skip
# ai_human_agreement: decided review items whose decision equals the AI's answer (at source.path, if given).
SHARE_METRICS = (
    "error_rate", "route_share", "label_share", "negative_feedback_rate", "cache_hit_rate", "ai_human_agreement",
)  # fmt: skip
SOURCE_TYPES = ("traces", "prometheus", "http_json", "pushed")
ROUTES = ("ai", "human", "shadow", "fallback")


class SourceConfig(_Strict):
    """Where a monitor's metric comes from: andon's traces, a Prometheus query, an HTTP JSON endpoint, or pushes."""

    type: Literal["traces", "prometheus", "http_json", "pushed"] = Field(
        default="traces", description=f"One of {', '.join(SOURCE_TYPES)}."
    )
    feature: Name | None = Field(default=None, description="traces: whose traces (default: the monitor's feature).")
    route: Literal["ai", "human", "shadow", "fallback"] | None = Field(
        default=None, description="route_share: the route counted."
    )
    path: str | None = Field(
        default=None,
        description="label_share, judge_score: dot path into the output JSON (or tags); http_json: dot path to the number.",
    )
    in_tags: bool = Field(
        default=False,
        description="label_share, judge_score: read `path` in the trace's tags instead of the output JSON.",
    )
    grader: str | None = Field(
        default=None,
        min_length=1,
        description="judge_score: the grader of the feature's `serve.judge`, whose live scores are read (instead of `path`).",
    )
    label: str | list[str] | None = Field(
        default=None, description="label_share: the label (or labels) counted, e.g. reject."
    )
    url: str | None = Field(default=None, description="prometheus: the server's base URL; http_json: the endpoint.")
    query: str | None = Field(default=None, description="prometheus: a PromQL instant query returning one series.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="prometheus, http_json: request headers (use ${ENV} for secrets)."
    )
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    name: str | None = Field(
        default=None, description="pushed: the metric name pushed to POST /v1/metrics (default: the monitor's name)."
    )
    aggregate: Literal["mean", "sum", "min", "max", "last", "count"] = Field(
        default="mean", description="pushed: how a window's values become one."
    )

    @model_validator(mode="after")
    def _fits_type(self) -> SourceConfig:
        allowed = {
            "traces": {"feature", "route", "path", "in_tags", "label", "grader"},
            "prometheus": {"url", "query", "headers", "timeout_s"},
            "http_json": {"url", "path", "headers", "timeout_s"},
            "pushed": {"name", "aggregate"},
        }[self.type]
        stray = sorted(f for f in self.model_fields_set - {"type"} if f not in allowed)
        if stray:
            raise ValueError(
                t(
                    "house2.schema.source_stray",
                    stray=", ".join(stray),
                    type=self.type,
                    allowed=", ".join(sorted(allowed)),
                )
            )
        if self.type == "prometheus" and not (self.url and self.query):
            raise ValueError(t("house2.schema.prometheus"))
        if self.type == "http_json" and not (self.url and self.path):
            raise ValueError(t("house2.schema.http_json"))
        if self.type in ("prometheus", "http_json") and self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(t("house2.schema.url_scheme", url=self.url))
        return self


class BaselineConfig(_Strict):
    """What the current window is compared with before the detector sees it (difference or ratio)."""

    of: Literal["previous_window", "same_hour_last_week", "previous_version"] = Field(
        description="The window compared with."
    )
    compare: Literal["difference", "ratio"] = Field(
        default="difference", description="value - baseline, or value / baseline."
    )


class ActionConfig(_Strict):
    """What the cord does when the monitor fails: stop the feature, roll back, or call a webhook (a flag)."""

    type: Literal["stop", "rollback", "webhook"]
    url: str | None = Field(default=None, description="webhook: where the OpenFeature-style flag payload is sent.")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(
        default_factory=dict, description="webhook: request headers (use ${ENV} for tokens)."
    )
    flag: str | None = Field(default=None, description="webhook: the flag key (default: the feature's name).")
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _webhook(self) -> ActionConfig:
        if self.type == "webhook":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError(t("house2.schema.webhook_url"))
        elif self.model_fields_set - {"type"}:
            raise ValueError(t("house2.schema.action_fields", type=self.type))
        return self


class ResumeConfig(_Strict):
    """Who resumes a stopped feature: a person (``manual``, the default) or the monitor once it has recovered."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: Literal["manual", "on_recovery"] = "manual"
    for_: int | str | None = Field(
        default=None, alias="for", description="on_recovery: how long (e.g. 10m) or how many points it must be ok."
    )
    probe: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="on_recovery, traces monitors: while this monitor holds the feature stopped, this share of calls "
        "also goes to the live version as a shadow probe (recorded, never served), so the metric keeps measuring it; "
        "its min_calls counts the probes; 0: no probes (the monitor then recovers only on another source).",
    )

    @field_validator("for_")
    @classmethod
    def _persist(cls, value: int | str | None) -> int | str | None:
        return None if value is None else _check_persist(value)

    @model_validator(mode="after")
    def _needs_for(self) -> ResumeConfig:
        if self.when == "on_recovery" and self.for_ is None:
            raise ValueError(t("house2.schema.resume_for"))
        return self


def _check_persist(value: int | str) -> int | str:
    if isinstance(value, bool) or (isinstance(value, int) and value < 1):
        raise ValueError(t("house2.schema.persist"))
    if isinstance(value, str):
        parse_duration(value)
    return value


def persist_rule(value: int | str) -> tuple[int | None, float | None]:
    """``for:`` as (points, seconds): exactly one of them is set."""
    return (value, None) if isinstance(value, int) else (None, parse_duration(value))


class MonitorConfig(BaseModel):
    """A metric watched by a detector; when it fails for long enough, the cord is pulled."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    description: str | None = None
    feature: Name | None = Field(default=None, description="The feature the cord acts on (and whose traces are read).")
    source: SourceConfig = Field(default_factory=SourceConfig)
    metric: str = Field(description=f"traces: one of {', '.join(TRACE_METRICS)}; other sources: a name for the number.")
    interval: Duration = Field(default=60.0, description="How often it is measured (e.g. 1m).")
    window: Duration = Field(default=300.0, description="How far back each measurement looks (e.g. 15m).")
    detector: dict[str, Any] = Field(
        description="A detector: `type:` (threshold, proportion, robust-z, …) and its settings."
    )
    min_calls: int = Field(default=0, ge=0, description="traces: a window with fewer calls counts as no data.")
    for_: int | str = Field(
        default=1,
        alias="for",
        description="How many failing points in a row (e.g. 3), or how long (e.g. 5m), before the cord is pulled.",
    )
    failure_limit: int = Field(
        default=3, ge=0, description="Measurement errors in a row tolerated (source down) before they count as no data."
    )
    no_data: Literal["pause", "fail"] = Field(
        default="pause", description="A window without data pauses the monitor, or counts as failing."
    )
    mode: Literal["active", "shadow"] = Field(default="active", description="shadow: detect and record, never act.")
    baseline: BaselineConfig | None = Field(
        default=None,
        description="Compare with another window first (previous_window, same_hour_last_week, previous_version).",
    )
    actions: list[ActionConfig] = Field(
        default_factory=lambda: [ActionConfig(type="stop")], description="What the cord does (default: stop)."
    )
    cooldown: Duration = Field(
        default=1800.0, description="After acting, the monitor does not act again for this long."
    )
    resume: ResumeConfig = Field(
        default_factory=ResumeConfig, description="manual (default), or on_recovery with its own `for:`."
    )
    runbook: str | None = Field(default=None, description="Link to what to do when it fires.")
    owner: str | None = Field(default=None, description="Who answers for it (a person or team).")

    @field_validator("source", mode="before")
    @classmethod
    def _source_shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @field_validator("baseline", mode="before")
    @classmethod
    def _baseline_shorthand(cls, value: Any) -> Any:
        return {"of": value} if isinstance(value, str) else value

    @field_validator("resume", mode="before")
    @classmethod
    def _resume_shorthand(cls, value: Any) -> Any:
        return {"when": value} if isinstance(value, str) else value

    @field_validator("actions", mode="before")
    @classmethod
    def _action_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        return [{"type": v} if isinstance(v, str) else v for v in value] if isinstance(value, list) else value

    @field_validator("for_")
    @classmethod
    def _persist(cls, value: int | str) -> int | str:
        return _check_persist(value)

    @field_validator("detector")
    @classmethod
    def _detector_type(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("type"), str):
            raise ValueError(t("house2.schema.detector_type"))
        return value

    # Field validators (not the model's) where they can: their errors point at the field's own line.
    @field_validator("metric")
    @classmethod
    def _metric_fits_source(cls, metric: str, info: ValidationInfo) -> str:
        source = info.data.get("source")
        if isinstance(source, SourceConfig) and source.type == "traces":
            if metric not in TRACE_METRICS:
                raise ValueError(t("house2.schema.trace_metric", metric=metric, known=", ".join(TRACE_METRICS)))
            if metric == "judge_score" and source.path is None and source.grader is None:
                raise ValueError(t("live_judge.config.no_path"))
            needs = {"route_share": ("route",), "label_share": ("path", "label")}
            missing = [f for f in needs.get(metric, ()) if getattr(source, f) is None]
            if missing:
                raise ValueError(t("house2.schema.metric_needs", metric=metric, fields=" and source.".join(missing)))
        return metric

    @field_validator("min_calls")
    @classmethod
    def _calls_of_traces(cls, value: int, info: ValidationInfo) -> int:
        source = info.data.get("source")
        if value and isinstance(source, SourceConfig) and source.type != "traces":
            raise ValueError(t("house2.schema.min_calls"))
        return value

    @field_validator("window")
    @classmethod
    def _covers_interval(cls, window: float, info: ValidationInfo) -> float:
        source, interval = info.data.get("source"), info.data.get("interval")
        kind = source.type if isinstance(source, SourceConfig) else "traces"
        if isinstance(interval, float) and window < interval and kind in ("traces", "pushed"):
            raise ValueError(t("house2.schema.window", window=window, interval=interval))
        return window

    @model_validator(mode="after")
    def _consistent(self) -> MonitorConfig:
        if self.source.type == "traces" and self.feature is None and self.source.feature is None:
            raise ValueError(t("house2.schema.traces_feature"))
        if self.actions and self.feature is None:
            raise ValueError(t("house2.schema.actions_feature"))
        kinds = [a.type for a in self.actions]
        if len(set(kinds)) != len(kinds):
            raise ValueError(t("house2.schema.action_once", kinds=kinds))
        return self

    @property
    def acted_feature(self) -> str | None:
        """The feature the cord acts on (and, by default, whose traces are read)."""
        return self.feature or self.source.feature


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
    notifiers: dict[Name, NotifierConfig] = Field(default_factory=dict, description="Where incidents are announced.")
    alertmanager: AlertmanagerConfig = Field(default_factory=AlertmanagerConfig)
    monitors: dict[Name, MonitorConfig] = Field(
        default_factory=dict, description="Metrics watched by detectors (andon watch)."
    )
    okr: OkrConfig = Field(default_factory=OkrConfig, description="Objectives: check-in reminders and review digests.")
