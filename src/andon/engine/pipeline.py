"""Run a version on one set of variables: render, call, validate, cost — with full provenance."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jsonschema

from andon.config.schema import Params, Step
from andon.engine.cache import ResponseCache, cache_key, response_from_cache, response_to_cache
from andon.engine.guard import DEFAULT_INSTRUCTIONS, evaluate, input_texts, output_texts
from andon.engine.masking import Masker, MaskPolicy
from andon.engine.steps import STEP_KINDS
from andon.engine.tools import ToolLimitReached, complete_with_tools
from andon.errors import AndonError, ProviderError
from andon.messages import t
from andon.providers.base import Message, Provider, ProviderRequest, ProviderResponse, TextPart
from andon.store.records import OutputRecord, new_id
from andon.versions.canonical import GUARD_PROVIDER, RULE_PROVIDERS, Version
from andon.versions.render import render_messages


class ProviderLookup(Protocol):
    """Gives the provider for a name and prices a reply; the workspace implements it."""

    def provider(self, name: str) -> Provider:
        """The (resilient, shared) provider registered under ``name``."""
        ...

    def price(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> tuple[float, str] | None:
        """Cost and currency of a call, or None when no price is configured."""
        ...


@dataclass(slots=True)
class StepRecord:
    """Provenance of one step: exactly what was sent, to whom, and what came back."""

    name: str
    provider: str
    model: str
    params: dict[str, Any]
    messages: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime
    text: str | None = None
    parsed: Any = None
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost: float | None = None
    currency: str | None = None
    cached: bool = False
    attempts: int = 0
    finished: bool = False
    error: str | None = None
    raw: Any = None
    endpoint: dict[str, Any] | None = None
    masking: dict[str, Any] | None = None  # with send: masked, the placeholder types and counts (never values)
    guard: dict[str, Any] | None = None  # a guard step's decision (engine.guard.GuardDecision.to_json)
    logprobs: list[dict[str, Any]] | None = None  # the reply's token log-probabilities (params.logprobs)
    tools: list[dict[str, Any]] | None = None  # each tool call of the step: name, arguments, result or error
    extra: dict[str, Any] = field(default_factory=dict)  # top-level keys a step kind adds (a flow: agent, handoff …)

    @property
    def calls_model(self) -> bool:
        """Whether a model answered in this step (a guard only when its classifier model was asked)."""
        return self.provider not in RULE_PROVIDERS or (self.provider == GUARD_PROVIDER and self.attempts > 0)

    def to_json(self) -> dict[str, Any]:
        """JSON form kept in the output record."""
        return {
            "name": self.name,
            "provider": self.provider,
            "model": self.model,
            **({"endpoint": self.endpoint} if self.endpoint else {}),
            **({"masking": self.masking} if self.masking else {}),
            **({"guard": self.guard} if self.guard else {}),
            **({"tools": self.tools} if self.tools is not None else {}),
            "params": self.params,
            "messages": self.messages,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "text": self.text,
            "parsed": self.parsed,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "latency_ms": self.latency_ms,
            "cost": self.cost,
            "currency": self.currency,
            "cached": self.cached,
            "attempts": self.attempts,
            "finished": self.finished,
            "error": self.error,
            **({"logprobs": self.logprobs} if self.logprobs is not None else {}),
            **self.extra,
        }


@dataclass(slots=True)
class Outcome:
    """The result of running a version once: the final output and every step's provenance."""

    feature: str
    version_id: str
    version_name: str
    status: str  # ok | error
    started_at: datetime
    finished_at: datetime
    steps: list[StepRecord] = field(default_factory=list)
    output_text: str | None = None
    output_json: Any = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def input_tokens(self) -> int:
        """Tokens sent, over all steps."""
        return sum(s.input_tokens for s in self.steps)

    @property
    def output_tokens(self) -> int:
        """Tokens received, over all steps."""
        return sum(s.output_tokens for s in self.steps)

    @property
    def latency_ms(self) -> float:
        """Wall time of the whole pipeline."""
        return (self.finished_at - self.started_at).total_seconds() * 1000

    @property
    def guard(self) -> dict[str, Any] | None:
        """The decision of the guard that acted (the one that finished the run, else the last that flagged)."""
        decisions = [s.guard for s in self.steps if s.guard is not None and s.guard["action"] != "pass"]
        finishing = [d for d in decisions if d["action"] in ("block", "route")]
        chosen = finishing or decisions
        return chosen[-1] if chosen else None

    @property
    def cached(self) -> bool:
        """True when every model step came from the response cache."""
        model_steps = [s for s in self.steps if s.calls_model]
        return bool(model_steps) and all(s.cached for s in model_steps)

    @property
    def service_ms(self) -> float:
        """Time the steps themselves took, without waiting for a busy provider (what one caller alone sees)."""
        return sum(s.latency_ms for s in self.steps)

    def cost(self) -> tuple[float | None, str | None]:
        """Total cost of the model steps (rule steps are free); None when a model step has no price.

        A pipeline a rule finished before any model call costs 0 (currency None: any currency).
        """
        model_steps = [s for s in self.steps if s.calls_model]
        if not model_steps:
            return 0.0, None
        currencies = {s.currency for s in model_steps}
        if any(s.cost is None for s in model_steps) or len(currencies) != 1:
            return None, None
        return sum(s.cost or 0.0 for s in model_steps), currencies.pop()

    def to_record(self, output_id: str | None = None, context: dict[str, Any] | None = None) -> OutputRecord:
        """The stored form; the last step that ran names provider, model, parameters and messages."""
        last = self.steps[-1] if self.steps else None
        cost, currency = self.cost()
        return OutputRecord(
            id=output_id or new_id("out"),
            feature=self.feature,
            version_id=self.version_id,
            provider=last.provider if last else "",
            model=last.model if last else "",
            params=last.params if last else {},
            messages=last.messages if last else [],
            status=self.status,
            started_at=self.started_at,
            finished_at=self.finished_at,
            output_text=self.output_text,
            output_json=self.output_json,
            error=self.error,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost=cost,
            currency=currency,
            latency_ms=self.latency_ms,
            cached=self.cached,
            raw=last.raw if last else None,
            steps=[s.to_json() for s in self.steps],
            context={"version_name": self.version_name, **(context or {})},
        )


def effective_params(step: Step) -> Params:
    """Parameters actually sent: an output schema also constrains generation when none is set."""
    if step.output_schema is not None and step.params.json_schema is None:
        return step.params.model_copy(update={"json_schema": step.output_schema})
    return step.params


def _now() -> datetime:
    return datetime.now(UTC)


async def run_version(
    version: Version,
    variables: Mapping[str, Any],
    providers: ProviderLookup,
    *,
    cache: ResponseCache | None = None,
    repeat: int = 0,
    base_dir: Path | None = None,
    masking: MaskPolicy | None = None,
) -> Outcome:
    """Run every step of ``version`` in order; a ``python`` step may finish the pipeline early.

    Provider and template errors become an ``error`` outcome (with what was sent kept), never an exception,
    so one bad case cannot stop an evaluation or a gateway. With ``masking``, model steps are sent (and
    their provenance keeps) masked messages; ``python`` steps run here and see the values as they are.
    """
    outcome = Outcome(version.feature, version.id, version.name, "ok", _now(), _now())
    scope: dict[str, Any] = {**variables, "steps": {}}
    masker = Masker(masking) if masking is not None else None
    if masker is not None:
        masker.reserve(dict(variables))
    if version.flow is not None:  # agents handing off to each other (issue 14): run by agents.flow, above us
        await _run_flow(version, scope, providers, outcome, base_dir, masker)
        outcome.finished_at = _now()
        return outcome
    for step in version.steps:
        if step.guard is not None:
            record = await _run_guard(step, scope, outcome, providers, masker)
        elif step.retrieve is not None:
            record = await _run_registered("retrieve", step, scope, providers)
        else:
            record = await _run_step(version, step, scope, providers, cache, repeat, base_dir, masker)
        outcome.steps.append(record)
        if record.error is not None:
            outcome.status, outcome.error = "error", record.error
            outcome.output_text, outcome.output_json = record.text, record.parsed
            break
        scope["steps"][step.name] = {"output": record.text, "json": record.parsed}
        outcome.output_text, outcome.output_json = record.text, record.parsed
        if record.finished:
            break
    outcome.finished_at = _now()
    return outcome


async def _run_step(
    version: Version,
    step: Step,
    scope: dict[str, Any],
    providers: ProviderLookup,
    cache: ResponseCache | None,
    repeat: int,
    base_dir: Path | None,
    masker: Masker | None = None,
) -> StepRecord:
    provider_name, model = step.provider or "", step.model or ""
    params = effective_params(step)
    params_json = params.model_dump(mode="json", exclude_defaults=True)
    started = _now()
    record = StepRecord(step.name, provider_name, model, params_json, [], started, started)
    record.endpoint = _step_endpoint(version, step.name)
    where = f"features.{version.feature}.versions.{version.name}.steps.{step.name}"
    masked = masker if step.python is None else None
    try:
        messages: tuple[Message, ...] = ()
        if step.python is None:
            messages = render_messages(step, scope, base_dir=base_dir, where=where)
            if masked is not None:
                messages = masked.mask_messages(messages)
        record.messages = [m.to_json() for m in messages]
        key = None
        response: ProviderResponse | None = None
        if cache is not None and step.python is None and not step.tools:  # tools act: never replay them
            key = cache_key(version.id, step.name, provider_name, model, messages, params_json, repeat)
            hit = await cache.get(key)
            response = response_from_cache(hit) if hit is not None else None
        if response is None:
            clock = time.perf_counter()
            sent = dict(scope) if masked is None else masked.mask_value(scope)
            request = ProviderRequest(model=model, messages=messages, params=params, variables=sent)
            if step.tools:
                response = await _complete_with_tools(step, providers.provider(provider_name), request, record)
            else:
                response = await providers.provider(provider_name).complete(request)
            response.latency_ms = response.latency_ms or (time.perf_counter() - clock) * 1000
            if response.cost is None and step.python is None:
                priced = providers.price(provider_name, model, response.input_tokens, response.output_tokens)
                if priced is not None:
                    response.cost, response.currency = priced
            _check_schema(step, response, where)
            if key is not None and cache is not None:
                await cache.put(key, response_to_cache(response))
        _fill(record, response)
        if masked is not None and masked.policy.restore:
            record.text = masked.restore(record.text) if record.text is not None else None
            record.parsed = masked.restore_value(record.parsed)
    except AndonError as exc:
        record.error = str(exc)
        if isinstance(exc, ProviderError) and exc.raw is not None:
            record.text = exc.raw
    if masked is not None:
        record.masking = masked.provenance()
    record.finished_at = _now()
    return record


async def _complete_with_tools(
    step: Step, provider: Provider, request: ProviderRequest, record: StepRecord
) -> ProviderResponse:
    """The tool loop (engine.tools); provenance keeps every message and tool call, also when a limit ends it."""
    try:
        where = f"steps.{step.name}"
        response, sent, log = await complete_with_tools(provider, request, step.tools, step.max_tool_calls, where=where)
    except ToolLimitReached as exc:
        record.messages, record.tools = [m.to_json() for m in exc.messages], exc.log
        raise
    record.messages, record.tools = [m.to_json() for m in sent], log
    return response


async def _run_flow(
    version: Version,
    scope: dict[str, Any],
    providers: ProviderLookup,
    outcome: Outcome,
    base_dir: Path | None,
    masker: Masker | None,
) -> None:
    """A flow version: the registered runner fills ``outcome`` with one step record per agent turn."""
    try:
        runner: Any = STEP_KINDS.load("flow", where=f"features.{version.feature}.versions.{version.name}")
    except AndonError as exc:
        outcome.status, outcome.error = "error", str(exc)
        return
    await runner(version, scope, providers, outcome, base_dir=base_dir, masker=masker)


async def _run_registered(kind: str, step: Step, scope: dict[str, Any], providers: ProviderLookup) -> StepRecord:
    """A step whose runner lives in another package (engine/steps.py); its errors end the run like any step's."""
    try:
        runner: Any = STEP_KINDS.load(kind, where=f"steps.{step.name}")
        record: StepRecord = await runner(step, scope, providers)
    except AndonError as exc:
        started = _now()
        record = StepRecord(
            step.name, step.provider or kind, step.model or "", {}, [], started, started, error=str(exc)
        )
    return record


async def _run_guard(
    step: Step, scope: dict[str, Any], outcome: Outcome, providers: ProviderLookup, masker: Masker | None
) -> StepRecord:
    """A guard step: its checks over the input or the answer so far; block and route finish the run.

    A block answers with the safe answer; a route (a person answers) keeps the answer so far as the
    reviewer's suggestion; a flag or a pass hands the answer so far on unchanged.
    """
    assert step.guard is not None
    spec = step.guard
    started = _now()
    record = StepRecord(step.name, GUARD_PROVIDER, step.model or "builtin", {}, [], started, started)
    if spec.on == "input":
        texts = input_texts(spec, scope)
    else:
        texts = output_texts(outcome.output_text, outcome.output_json)
        record.text, record.parsed = outcome.output_text, outcome.output_json
    decision = await evaluate(step.name, spec, texts, _classifier(step, record, providers, masker))
    if decision.action == "block":
        record.text, record.parsed, record.finished = decision.answer, None, True
    elif decision.action == "route":
        record.finished = True
    record.guard = {**decision.to_json(), "language": decision.language,
                    **({"priority": decision.priority} if decision.action == "route" else {}),
                    **({"notify": decision.notify} if decision.notify is not None else {})}  # fmt: skip
    record.finished_at = _now()
    record.latency_ms = (record.finished_at - started).total_seconds() * 1000
    return record


def _classifier(step: Step, record: StepRecord, providers: ProviderLookup, masker: Masker | None) -> Any:
    """The guard's classifier as ``text -> reply``, counting its tokens and cost into the guard's record.

    With ``send: masked`` it is sent the masked text, like any other model.
    """
    assert step.guard is not None
    check = step.guard.checks.get("classifier")
    if check is None or check.provider is None:
        return None
    provider_name, model = check.provider, check.model or ""
    instructions = check.instructions or DEFAULT_INSTRUCTIONS

    async def classify(text: str) -> str:
        if masker is not None:
            text = masker.mask(text)
        messages = (Message("system", (TextPart(instructions),)), Message("user", (TextPart(text),)))
        request = ProviderRequest(model=model, messages=messages, params=Params(temperature=0, max_tokens=16),
                                  variables={"text": text})  # fmt: skip
        response = await providers.provider(provider_name).complete(request)
        if response.input_tokens or response.output_tokens or response.cost is not None:
            record.attempts += 1  # a model answered (a rule function reports no tokens and costs nothing)
        record.input_tokens += response.input_tokens
        record.output_tokens += response.output_tokens
        priced = providers.price(provider_name, model, response.input_tokens, response.output_tokens)
        if response.cost is None and priced is not None:
            response.cost, response.currency = priced
        if response.cost is not None:
            record.cost, record.currency = (record.cost or 0.0) + response.cost, response.currency
        record.model = f"builtin+{provider_name}/{response.model or model}"
        return response.text or (str(response.parsed) if response.parsed is not None else "")

    return classify


def _step_endpoint(version: Version, step_name: str) -> dict[str, Any] | None:
    """The endpoint a step's provider answered from, as resolved into the version id."""
    for content in version.content.get("steps", []):
        if content.get("name") == step_name:
            endpoint = content.get("endpoint")
            return dict(endpoint) if isinstance(endpoint, dict) else None
    return None


def _check_schema(step: Step, response: ProviderResponse, where: str) -> None:
    if step.output_schema is None:
        return
    try:
        jsonschema.validate(response.parsed, step.output_schema)
    except jsonschema.ValidationError as exc:
        path = ".".join(str(p) for p in exc.absolute_path) or "(root)"
        raise ProviderError(
            t("house2.engine.schema", path=path, error=exc.message),
            where=where,
            raw=response.text,
            hint=t("house2.engine.schema_hint"),
        ) from None


def _fill(record: StepRecord, response: ProviderResponse) -> None:
    record.text = response.text
    record.parsed = response.parsed
    record.input_tokens = response.input_tokens
    record.output_tokens = response.output_tokens
    record.latency_ms = response.latency_ms
    record.cost = response.cost
    record.currency = response.currency
    record.cached = response.cached
    record.attempts = response.attempts
    record.finished = response.finished
    record.raw = response.raw
    record.logprobs = response.logprobs
    if response.model:
        record.model = response.model
