"""The gateway's invoke path: live version, answer cache, provider call behind a circuit breaker, fallback,
routing to humans, redaction, and a durable trace. The HTTP face (``app.py``) is a thin layer over this.

Timings of a trace: ``queue_ms`` is the wait and preparation before an answer is sought (time since the
request arrived, feature state and version lookups, image fetches); ``cache_ms`` the answer-cache lookup;
``provider_ms`` the pipeline (rendering and provider calls, a fallback version's run included).
``latency_ms`` is all of it up to the trace being handed to the writer (its commit comes after).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from andon.config.schema import DataUseConfig, FeatureConfig, Params, RoutingConfig, Step, VersionSpec
from andon.deploy import JudgementMemo, LiveState, live_version
from andon.engine.pipeline import Outcome, run_version
from andon.errors import AndonError, ConfigError, MalformedReply, NotFoundError, ProviderError, ProviderTimeout
from andon.evals.graders.structured import parse_number
from andon.evals.graders.values import MissingPath, lookup, split_path
from andon.gateway.circuit import CircuitBreaker, CircuitOpenError, Circuits, counts_as_failure
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.redact import StoragePolicy, input_hash
from andon.gateway.tracing import TraceWriter, retention_cutoffs
from andon.gateway.types import AnswerCache, CachedAnswer, Caller, InvokeResult, Route, TraceRecord
from andon.providers.base import ImagePart, Message, Provider, ProviderRequest, ProviderResponse, TextPart
from andon.providers.python import load_function
from andon.review.queue import ReviewItem
from andon.store.models import utcnow
from andon.store.records import OutputRecord, new_id
from andon.store.traces import FeedbackRecord, PruneCounts
from andon.versions.canonical import PYTHON_PROVIDER, Version, build_version, version_from_content
from andon.workspace import Workspace

log = logging.getLogger("andon.gateway")

MODEL_FEATURE_PREFIX = "@"  # traces of plain provider models are filed under feature "@<provider>"
MAX_COMMENT = 10_000
DEFAULT_PRUNE_INTERVAL_S = 3600.0
PolicyDecision = Literal["ai", "human"] | None


class ImageFetcher(Protocol):
    """Turns a user's http(s) image URL into a ``data:`` URL after its safety checks (see ``fetch.py``)."""

    async def fetch(self, url: str) -> str:
        """The image at ``url`` as a data URL; raises an AndonError when it is unsafe or unusable."""
        ...


# --- provider calls behind circuit breakers ------------------------------------------------------


@dataclass(slots=True)
class _CallLog:
    """What the providers of the current call reported: the last failure, if any."""

    fault: ProviderError | None = None


_CALL_LOG: ContextVar[_CallLog | None] = ContextVar("andon_gateway_call", default=None)


class _GuardedProvider:
    """A provider behind its circuit breaker (outside the retries, so one verdict per logical call)."""

    def __init__(self, inner: Provider, breaker: CircuitBreaker, metrics: GatewayMetrics) -> None:
        self.name = inner.name
        self._inner = inner
        self._breaker = breaker
        self._metrics = metrics

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Refuse at once while the circuit is open; otherwise call and record the verdict."""
        call = _CALL_LOG.get()
        if not self._breaker.allow():
            error = CircuitOpenError(
                f"circuit open after repeated failures; next trial call in {self._breaker.retry_in():.0f} s",
                provider=self.name,
                hint="the provider kept failing; the feature's fallback is used until it recovers",
            )
            if call is not None:
                call.fault = error
            raise error
        try:
            response = await self._inner.complete(request)
        except ProviderError as error:
            if counts_as_failure(error):
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # it answered; the request itself was the problem
            self._metrics.set_circuit(self.name, self._breaker.state == "open")
            if call is not None:
                call.fault = error
            raise
        except BaseException:
            self._breaker.release()
            raise
        self._breaker.record_success()
        self._metrics.set_circuit(self.name, False)
        return response

    async def aclose(self) -> None:
        """Nothing to close: the workspace owns the wrapped provider."""


class _GuardedProviders:
    """The workspace's providers, each behind its breaker; what ``run_version`` calls through."""

    def __init__(self, ws: Workspace, circuits: Circuits, metrics: GatewayMetrics) -> None:
        self._ws = ws
        self._circuits = circuits
        self._metrics = metrics
        self._guarded: dict[str, _GuardedProvider] = {}

    def provider(self, name: str) -> Provider:
        """The guarded provider called ``name``."""
        guarded = self._guarded.get(name)
        if guarded is None:
            guarded = _GuardedProvider(self._ws.provider(name), self._circuits.get(name), self._metrics)
            self._guarded[name] = guarded
        return guarded

    def price(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> tuple[float, str] | None:
        """Cost from the workspace's price table."""
        return self._ws.price(provider, model, input_tokens, output_tokens)


# --- one call in progress -------------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    """Everything gathered while serving one call, turned into the result, trace and records at the end."""

    trace_id: str
    feature: str
    caller: Caller
    variables: dict[str, Any]
    storage: StoragePolicy
    entered: float
    version: Version | None = None
    route: Route = "ai"
    status: str = "ok"
    output_text: str | None = None
    output_json: Any = None
    cached: CachedAnswer | None = None
    cache_looked_up: bool = False
    error: str | None = None
    error_code: str | None = None
    notes: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    served: Outcome | None = None  # the outcome whose output is the answer (and the trace's provenance)
    review_reason: str | None = None
    queue_ms: float = 0.0
    cache_ms: float = 0.0
    provider_ms: float = 0.0


def _error_code(outcome: Outcome, fault: ProviderError | None) -> str:
    """A stable code for why the AI gave no usable answer."""
    if isinstance(fault, CircuitOpenError):
        return "circuit_open"
    if isinstance(fault, ProviderTimeout):
        return "provider_timeout"
    answered = fault is None and bool(outcome.steps) and outcome.steps[-1].text is not None
    if isinstance(fault, MalformedReply) or answered:
        return "invalid_output"  # the provider answered, but not in the shape the version requires
    if fault is not None and fault.status == 429:
        return "rate_limited"
    if fault is not None and (fault.status is None or fault.status >= 500) and fault.retryable:
        return "provider_unavailable"
    return "provider_error"


def _render_failed(outcome: Outcome) -> bool:
    """Whether the pipeline stopped because a model step could not be rendered (missing or bad variables)."""
    if outcome.status != "error" or not outcome.steps:
        return False
    last = outcome.steps[-1]
    return last.provider != PYTHON_PROVIDER and not last.messages and last.error is not None


class Gateway:
    """Serves features: ``await start()``, then ``invoke``/``call_model``/``feedback``; ``await stop()`` at the end.

    ``state_ttl_s`` caches each feature's live version and stopped state that long (0: read on every call,
    so a promotion or stop takes effect at once); ``prune_interval_s`` runs retention pruning that often
    (None: never, e.g. when a cron job runs ``andon traces prune``).
    """

    def __init__(
        self,
        ws: Workspace,
        *,
        answer_cache: AnswerCache | None = None,
        image_fetcher: ImageFetcher | None = None,
        state_ttl_s: float = 0.0,
        prune_interval_s: float | None = DEFAULT_PRUNE_INTERVAL_S,
        max_batch: int = 256,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.ws = ws
        self.config = ws.config
        self.answer_cache = answer_cache
        self.image_fetcher = image_fetcher
        self._own_fetcher: Any = None  # built here on first use, so closed here
        self.metrics = metrics or GatewayMetrics()  # given when a reloaded config replaces this gateway
        gateway = self.config.gateway
        self.circuits = Circuits(gateway.circuit_failures, gateway.circuit_reset_s)
        self.writer = TraceWriter(
            ws.store, group_commit_ms=gateway.group_commit_ms, max_batch=max_batch, metrics=self.metrics
        )
        self._providers = _GuardedProviders(ws, self.circuits, self.metrics)
        self._state_ttl_s = state_ttl_s
        self._prune_interval_s = prune_interval_s
        self._declared: dict[str, list[Version]] = {}
        self._by_id: dict[tuple[str, str], Version] = {}
        self._policies: dict[str, Callable[..., Any]] = {}
        self._state: dict[str, tuple[float, LiveState]] = {}
        self._judgements: JudgementMemo = {}  # serve.live's gate, judged once per (run, version, criteria)
        self._registered: set[str] = set()
        self._prune_task: asyncio.Task[None] | None = None
        self._started = False

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Register the declared versions, load routing policies, check fallbacks, start the trace writer."""
        await asyncio.to_thread(self._load)
        await self.writer.start()
        if self._prune_interval_s is not None and self._prune_task is None:
            self._prune_task = asyncio.create_task(self._prune_loop(self._prune_interval_s), name="andon-prune")
        self._started = True

    async def stop(self) -> None:
        """Stop taking calls and commit every trace still waiting."""
        self._started = False
        if self._prune_task is not None:
            self._prune_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prune_task
            self._prune_task = None
        await self.writer.stop()
        if self._own_fetcher is not None:
            await self._own_fetcher.aclose()
            self.image_fetcher = self._own_fetcher = None

    def ready(self) -> bool:
        """Whether calls can be served and their traces stored (started, writer running, last commit fine)."""
        return self._started and self.writer.running and self.writer.last_error is None

    def _load(self) -> None:
        for name, feature in self.config.features.items():
            declared = self.ws.declared_versions(name)
            self._declared[name] = declared
            for version in declared:
                self._by_id[(name, version.id)] = version
            where = f"features.{name}.serve"
            if feature.serve.routing.policy:
                try:
                    self._policies[name] = load_function(feature.serve.routing.policy)
                except ConfigError as exc:
                    exc.where = f"{where}.routing.policy"
                    raise
            for ref, at in (
                (feature.serve.live, "live"),
                (_fallback_version(feature.serve.routing), "routing.fallback"),
            ):
                if ref is not None and not self._find_declared(name, ref):
                    try:
                        self.ws.store.get_version(name, ref)
                    except NotFoundError as exc:
                        raise ConfigError(
                            f"{ref!r} is not a version of {name}",
                            where=f"{where}.{at}",
                            hint=f"declared versions: {', '.join(v.name for v in declared) or 'none'}",
                        ) from exc
            state = live_version(self.ws, name, memo=self._judgements)
            if state.version_id is None:
                # Not fatal: the other features serve; this one answers `not_live` until a version is promoted.
                log.warning("%s: nothing is live (%s); promote a version: andon promote %s VERSION",
                            name, state.why_not, name)  # fmt: skip

    def _check_started(self) -> None:
        if not self._started:
            raise AndonError("the gateway is not started", hint="await gateway.start() before serving calls")

    # --- versions and feature state -----------------------------------------------------------------

    def _feature(self, feature: str) -> FeatureConfig:
        config = self.config.features.get(feature)
        if config is None:
            known = ", ".join(self.config.features) or "none"
            raise NotFoundError(f"no feature {feature!r}", hint=f"known features: {known}")
        return config

    def _find_declared(self, feature: str, ref: str) -> Version | None:
        for version in self._declared.get(feature, []):
            if ref in (version.name, version.id):
                return version
        return None

    async def _version(self, feature: str, ref: str) -> Version:
        """A version by name, id or id prefix: andon.yaml first, then the store's history."""
        found = self._find_declared(feature, ref) or self._by_id.get((feature, ref))
        if found is not None:
            return found
        record = await asyncio.to_thread(self.ws.store.get_version, feature, ref)
        version = version_from_content(feature, record.name, record.content)
        self._by_id[(feature, version.id)] = version  # content-addressed: safe to keep for ever
        return version

    async def _feature_state(self, feature: str) -> LiveState:
        """What is live and whether it is stopped (``andon.deploy.live_version``), cached for ``state_ttl_s``."""
        now = time.monotonic()
        cached = self._state.get(feature)
        if cached is not None and cached[0] > now:
            return cached[1]
        state = await asyncio.to_thread(live_version, self.ws, feature, memo=self._judgements)
        if self._state_ttl_s > 0:
            self._state[feature] = (now + self._state_ttl_s, state)
        return state

    async def live_version(self, feature: str) -> Version:
        """The version a feature serves (``andon.deploy.live_version``); NotLiveError when nothing is live."""
        self._feature(feature)
        return await self._serving(feature, await self._feature_state(feature))

    async def _serving(self, feature: str, state: LiveState) -> Version:
        return await self._version(feature, state.require()[0])

    # --- invoke -------------------------------------------------------------------------------------

    async def invoke(
        self,
        feature: str,
        variables: Mapping[str, Any],
        caller: Caller,
        *,
        version: str | None = None,
        received_at: float | None = None,
    ) -> InvokeResult:
        """Serve one call of ``feature``; returns once its trace is committed.

        Provider faults never raise: they become a fallback or an error result. An unknown feature or
        version raises NotFoundError, bad variables ConfigError (or the image fetcher's errors), and a
        trace that cannot be stored TraceWriteError. ``received_at`` (``time.perf_counter()`` when the
        request arrived) lets the queue time include the wait before this call began.
        """
        entered = received_at if received_at is not None else time.perf_counter()
        self._check_started()
        config = self._feature(feature)
        values = _check_variables(variables)
        data_use = config.serve.data_use
        call = _Call(
            new_id("trc"), feature, caller, values, StoragePolicy.of(data_use.inputs, data_use.redact), entered
        )
        state = await self._feature_state(feature)
        stopped, reason = state.stopped, state.stop_reason
        call.version = await (self._version(feature, version) if version is not None else self._serving(feature, state))
        if stopped:
            call.route, call.status, call.review_reason = "human", "queued", "stopped"
            call.notes.append(f"feature stopped: {reason}" if reason else "feature stopped")
            call.queue_ms = _ms_since(entered)
            return await self._finish(call)
        if self.answer_cache is not None and config.serve.cache.enabled:
            await self._lookup_cache(call)
        if call.cached is None:
            prepared = await self._prepare_images(call.version, values)
            call.queue_ms = _ms_since(entered) - call.cache_ms
            outcome = await self._run(call, call.version, prepared)
            if outcome.status == "error":
                await self._fall_back(call, config.serve.routing, outcome, prepared)
                return await self._finish(call)
            call.served = outcome
            call.output_text, call.output_json = outcome.output_text, outcome.output_json
        await self._route(call, config.serve.routing)
        return await self._finish(call)

    async def _lookup_cache(self, call: _Call) -> None:
        assert self.answer_cache is not None and call.version is not None
        call.queue_ms = _ms_since(call.entered)
        started = time.perf_counter()
        call.cache_looked_up = True
        try:
            hit = await self.answer_cache.lookup(
                call.feature, call.version.id, call.caller.tenant or "", call.variables, api_key=call.caller.api_key_id
            )
        except Exception:
            # The cache is an optimisation: when it fails, the call is still answered.
            log.exception("answer-cache lookup failed for %s; answering without it", call.feature)
            hit = None
        call.cache_ms = _ms_since(started)
        if hit is not None:
            call.cached = hit
            call.output_text, call.output_json = hit.output_text, hit.output_json
            call.notes.append(f"{hit.hit} cache hit (similarity {hit.similarity:.3f}) of trace {hit.trace_id}")

    async def _prepare_images(self, version: Version, variables: dict[str, Any]) -> dict[str, Any]:
        """Image variables as data URLs: http(s) ones fetched through the SSRF-safe fetcher, paths refused."""
        names = list(dict.fromkeys(name for step in version.steps for name in step.images if name in variables))
        if not names:
            return variables
        prepared = dict(variables)
        urls: dict[str, str] = {}
        for name in names:
            value = variables[name]
            where = f"variables.{name}"
            if not isinstance(value, str):
                raise ConfigError(
                    f"image variable {name!r} is a {type(value).__name__}",
                    where=where,
                    hint="send an https:// URL or a data:image/...;base64 URL",
                )
            if value.startswith(("http://", "https://")):
                urls[name] = value
            elif not value.startswith("data:image/"):
                # A path would make the server read its own files and send them to a model.
                raise ConfigError(
                    f"image variable {name!r} is neither an http(s) URL nor a data:image URL",
                    where=where,
                    hint="the gateway does not read files; send the image's URL or a data:image/...;base64 URL",
                )
        if urls:
            fetcher = self._fetcher()
            fetched = await asyncio.gather(*(fetcher.fetch(url) for url in urls.values()))
            prepared.update(zip(urls, fetched, strict=True))
        return prepared

    def _fetcher(self) -> ImageFetcher:
        if self.image_fetcher is None:
            from andon.gateway.fetch import ImageFetcher as DefaultFetcher  # imported when first needed

            self.image_fetcher = self._own_fetcher = DefaultFetcher(self.config.gateway)
        return self.image_fetcher

    async def _run(
        self, call: _Call, version: Version, variables: dict[str, Any], *, fallback: bool = False
    ) -> Outcome:
        """Run a version through the guarded providers; the provider's failure (if any) is kept.

        Variables that do not fit the served version are the caller's error (ConfigError); a fallback
        version that does not fit them is the feature's own failure, reported as such.
        """
        log_token = _CALL_LOG.set(_CallLog())
        started = time.perf_counter()
        try:
            outcome = await run_version(version, variables, self._providers)
            fault = _CALL_LOG.get()
        finally:
            _CALL_LOG.reset(log_token)
        call.provider_ms += _ms_since(started)
        if _render_failed(outcome) and not fallback:
            raise ConfigError(
                f"the variables do not fit version {version.name}: {outcome.error}",
                where=f"features.{version.feature}.versions.{version.name}",
                hint="send every variable the prompt uses",
            )
        call.outcomes.append(outcome)
        if outcome.status == "error":
            call.error = outcome.error
            call.error_code = _error_code(outcome, fault.fault if fault is not None else None)
        return outcome

    async def _fall_back(self, call: _Call, routing: RoutingConfig, failed: Outcome, variables: dict[str, Any]) -> None:
        """The AI gave no answer: take the feature's fallback, and say so in the trace."""
        mode = routing.fallback
        call.served = failed
        if mode == "off":
            call.route, call.status = "ai", "error"
            call.notes.append(f"no fallback (off) after {call.error_code}")
            return
        if mode == "queue":
            call.route, call.status, call.review_reason = "fallback", "queued", "fallback"
            call.notes.append(f"fallback: review queue after {call.error_code}")
            return
        fallback = await self._version(call.feature, mode)
        first_code, first_error = call.error_code, call.error
        outcome = await self._run(call, fallback, variables, fallback=True)
        call.route, call.served = "fallback", outcome
        if outcome.status == "ok":
            call.version, call.status = fallback, "ok"
            call.output_text, call.output_json = outcome.output_text, outcome.output_json
            call.error, call.error_code = first_error, first_code
            call.notes.append(f"fallback: version {fallback.name} after {first_code}")
        else:
            call.status = "error"
            call.error = f"{first_error}; fallback version {fallback.name} failed too: {outcome.error}"
            call.error_code = "fallback_failed"
            call.notes.append(f"fallback: version {fallback.name} failed after {first_code}")

    async def _route(self, call: _Call, routing: RoutingConfig) -> None:
        """Send the answer to a human when a policy says so or confidence is low; shadow mode copies it."""
        answer = call.output_json if call.output_json is not None else call.output_text
        decision = await self._policy(call, answer)
        if decision == "human":
            call.route, call.status, call.review_reason = "human", "queued", "policy"
        elif decision is None and _low_confidence(call, routing):
            call.route, call.status, call.review_reason = "human", "queued", "low_confidence"
        elif routing.shadow:
            call.route, call.review_reason = "shadow", "shadow"

    async def _policy(self, call: _Call, answer: Any) -> PolicyDecision:
        policy = self._policies.get(call.feature)
        if policy is None:
            return None
        try:
            if inspect.iscoroutinefunction(policy):
                verdict = await policy(call.variables, answer)
            else:
                verdict = await asyncio.to_thread(policy, call.variables, answer)
                if inspect.isawaitable(verdict):
                    verdict = await verdict
        except Exception as exc:
            # A broken rule must not let unchecked answers out: a human looks at this one.
            call.notes.append(f"routing policy failed ({type(exc).__name__}: {exc}); sent to a human")
            return "human"
        if verdict not in ("ai", "human", None):
            call.notes.append(f"routing policy returned {verdict!r} (not 'ai', 'human' or None); sent to a human")
            return "human"
        return verdict  # type: ignore[no-any-return]

    # --- plain provider models (OpenAI-compatible) ----------------------------------------------------

    async def call_model(
        self,
        provider: str,
        model: str,
        messages: Sequence[Message],
        params: Params | None,
        caller: Caller,
        *,
        received_at: float | None = None,
    ) -> InvokeResult:
        """Call a configured provider's model directly, traced like a feature under ``@<provider>``.

        It runs as an ad-hoc one-step version through the same pipeline, so its provenance has the same
        form. Supported: an optional system message, then one user message (text and images). Earlier
        turns cannot be expressed as a version yet and are refused with ConfigError.
        """
        entered = received_at if received_at is not None else time.perf_counter()
        self._check_started()
        provider_config = self.config.providers.get(provider)
        if provider_config is None:
            known = ", ".join(n for n, p in self.config.providers.items() if p.type != PYTHON_PROVIDER) or "none"
            raise NotFoundError(f"no provider {provider!r}", hint=f"configured providers: {known}")
        if provider_config.type == PYTHON_PROVIDER:
            # The model of a python provider names a function to import and run: never from a request.
            raise ConfigError(
                f"provider {provider!r} runs Python functions and cannot be called as a model",
                hint="call a feature that uses it instead (model `feature:NAME`)",
            )
        version, variables = await self._adhoc_version(provider, model, messages, params or Params())
        data_use = DataUseConfig()
        call = _Call(
            new_id("trc"), version.feature, caller, variables, StoragePolicy.of(data_use.inputs, data_use.redact),
            entered, version=version,
        )  # fmt: skip
        prepared = await self._prepare_images(version, variables)
        call.queue_ms = _ms_since(entered)
        outcome = await self._run(call, version, prepared)
        call.served = outcome
        call.output_text, call.output_json = outcome.output_text, outcome.output_json
        if outcome.status == "error":
            call.status = "error"
        return await self._finish(call)

    async def _adhoc_version(
        self, provider: str, model: str, messages: Sequence[Message], params: Params
    ) -> tuple[Version, dict[str, Any]]:
        system: str | None = None
        rest = list(messages)
        if rest and rest[0].role == "system":
            system = rest.pop(0).text
        if len(rest) != 1 or rest[0].role != "user":
            raise ConfigError(
                "only a system message and one user message can be sent to a plain model for now",
                where="messages",
                hint="send the conversation as one user message, or call a feature (model `feature:NAME`)",
            )
        texts = [part.text for part in rest[0].content if isinstance(part, TextPart)]
        images = [part.url for part in rest[0].content if isinstance(part, ImagePart)]
        variables: dict[str, Any] = {"prompt": "\n".join(texts)}
        if system is not None:
            variables["system"] = system
        image_names = [f"image_{i}" for i in range(len(images))]
        variables.update(zip(image_names, images, strict=True))
        # The messages travel as variables, never as template source, so `{{ }}` in them is plain text.
        step = Step(
            provider=provider,
            model=model,
            system="{{ system }}" if system is not None else None,
            prompt="{{ prompt }}",
            images=image_names,
            params=params,
        )
        feature = f"{MODEL_FEATURE_PREFIX}{provider}"
        version = build_version(feature, model[:200], VersionSpec(steps=[step]), self.config)
        if version.id not in self._registered:
            await asyncio.to_thread(self.ws.store.register_version, feature, version.name, version.id, version.content)
            self._registered.add(version.id)
        return version, variables

    # --- finishing: trace, records, metrics, cache ----------------------------------------------------

    async def _finish(self, call: _Call) -> InvokeResult:
        """Build the trace and records, wait for their commit, then count and cache."""
        # Redaction and hashing take time in proportion to the body: a worker thread does them, so the
        # event loop goes on answering other calls (and /healthz) meanwhile.
        trace, records, review_items, review_id = await asyncio.to_thread(self._stored_forms, call)
        await self.writer.write(trace, records, review_items)
        self.metrics.observe(trace, cache_looked_up=call.cache_looked_up)
        await self._remember(call)
        answer_hidden = call.route == "human"  # a human decides: the AI's answer is only a suggestion
        return InvokeResult(
            trace_id=call.trace_id,
            feature=call.feature,
            route=call.route,
            status=call.status,
            version_id=trace.version_id,
            version_name=trace.version_name,
            output_text=None if answer_hidden else call.output_text,
            output_json=None if answer_hidden else call.output_json,
            cached=call.cached.hit if call.cached is not None else None,
            review_id=review_id,
            error=call.error if call.status == "error" else None,
            error_code=trace.error_code,
            latency_ms=_ms_since(call.entered),
            input_tokens=trace.input_tokens,
            output_tokens=trace.output_tokens,
            cost=trace.cost,
            currency=trace.currency,
        )

    def _stored_forms(self, call: _Call) -> tuple[TraceRecord, list[OutputRecord], list[ReviewItem], str | None]:
        """The trace, output records and review items of a call, as its storage policy lets them be stored."""
        version = call.version
        policy = call.storage
        served = call.served
        records: list[OutputRecord] = []
        output_id: str | None = None
        for outcome in call.outcomes:
            context = {"trace_id": call.trace_id, "gateway": True, "route": call.route}
            if outcome is not served:
                context["attempt"] = "failed before fallback"
            record = _stored_record(outcome.to_record(context=context), policy)
            records.append(record)
            if outcome is served:
                output_id = record.id
        last_step = served.steps[-1] if served is not None and served.steps else None
        input_tokens = sum(o.input_tokens for o in call.outcomes)
        output_tokens = sum(o.output_tokens for o in call.outcomes)
        cost, currency = _total_cost(call.outcomes)
        review_items: list[ReviewItem] = []
        review_id: str | None = None
        if call.review_reason is not None:
            item = ReviewItem.new(
                call.feature,
                call.review_reason,
                trace_id=call.trace_id,
                version_id=version.id if version is not None else None,
                input=policy.input(call.variables),
                suggestion_text=policy.text(call.output_text),
                suggestion_json=policy.value(call.output_json),
            )
            review_items.append(item)
            review_id = item.id
        latency_ms = _ms_since(call.entered)
        trace = TraceRecord(
            id=call.trace_id,
            feature=call.feature,
            route=call.route,
            status=call.status,
            input_mode=policy.mode,
            input=policy.input(call.variables),
            input_hash=input_hash(call.variables),
            created_at=utcnow(),
            version_id=version.id if version is not None else None,
            version_name=version.name if version is not None else None,
            output_id=output_id,
            cache=call.cached.hit if call.cached is not None else None,
            output_text=policy.text(call.output_text),
            output_json=policy.value(call.output_json),
            error=policy.text(call.error),
            error_code=call.error_code if call.status != "ok" or call.route == "fallback" else None,
            provider=last_step.provider if last_step is not None else None,
            model=last_step.model if last_step is not None else None,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost,
            currency=currency,
            latency_ms=latency_ms,
            queue_ms=max(call.queue_ms, 0.0),
            cache_ms=call.cache_ms,
            provider_ms=call.provider_ms,
            user_id=call.caller.user_id,
            session_id=call.caller.session_id,
            tenant=call.caller.tenant,
            api_key_id=call.caller.api_key_id,
            tags=policy.tags(call.caller.tags),
            note="; ".join(call.notes) or None,
        )
        return trace, records, review_items, review_id

    async def _remember(self, call: _Call) -> None:
        """Keep a fresh, successful, AI-served answer in the answer cache (after its trace is committed)."""
        config = self.config.features.get(call.feature)
        if (
            self.answer_cache is None
            or config is None
            or not config.serve.cache.enabled
            or call.cached is not None
            or call.status != "ok"
            or call.route not in ("ai", "shadow")
            or call.version is None
        ):
            return
        try:
            await self.answer_cache.store(
                call.feature,
                call.version.id,
                call.caller.tenant or "",
                call.variables,
                call.output_text,
                call.output_json,
                call.trace_id,
                api_key=call.caller.api_key_id,
            )
        except Exception:
            log.exception("could not store the answer of trace %s in the cache", call.trace_id)

    # --- feedback and retention -----------------------------------------------------------------------

    async def feedback(
        self,
        trace_id: str,
        *,
        score: float | None = None,
        thumbs: int | None = None,
        comment: str | None = None,
        user_id: str | None = None,
    ) -> FeedbackRecord:
        """Store feedback on a trace (score and/or thumbs ±1, and a comment, redacted like the feature's inputs)."""
        if score is not None and (isinstance(score, bool) or not math.isfinite(float(score))):
            raise ConfigError(f"score must be a finite number, got {score!r}", where="score")
        if thumbs is not None and (isinstance(thumbs, bool) or thumbs not in (1, -1)):
            raise ConfigError(f"thumbs must be 1 (up) or -1 (down), got {thumbs!r}", where="thumbs")
        if score is None and thumbs is None and not (comment and comment.strip()):
            raise ConfigError("feedback needs a score, thumbs or a comment", hint='e.g. {"thumbs": 1}')
        if comment is not None and len(comment) > MAX_COMMENT:
            raise ConfigError(f"the comment is {len(comment)} characters; at most {MAX_COMMENT}", where="comment")

        def save() -> FeedbackRecord:
            trace = self.ws.store.get_trace(trace_id)
            feature = self.config.features.get(trace["feature"])
            data_use = feature.serve.data_use if feature is not None else DataUseConfig()
            stored = StoragePolicy.of(data_use.inputs, data_use.redact).text(comment)
            return self.ws.store.add_feedback(
                trace["id"],
                score=None if score is None else float(score),
                thumbs=thumbs,
                comment=stored,
                user_id=user_id,
            )

        return await asyncio.to_thread(save)

    async def prune(self, *, days: int | None = None) -> PruneCounts:
        """Delete traces (with their outputs and feedback) older than each feature's retention."""
        cutoffs, default = retention_cutoffs(self.config, utcnow(), days=days)
        return await asyncio.to_thread(self.ws.store.prune_traces, cutoffs, default)

    async def _prune_loop(self, interval_s: float) -> None:
        while True:
            try:
                counts = await self.prune()
                if counts.traces:
                    log.info("retention: pruned %d traces, %d outputs, %d feedback", *_counts(counts))
            except Exception:
                log.exception("retention pruning failed; trying again in %.0f s", interval_s)
            await asyncio.sleep(interval_s)


# --- helpers --------------------------------------------------------------------------------------


def _fallback_version(routing: RoutingConfig) -> str | None:
    return None if routing.fallback in ("queue", "off") else routing.fallback


def _check_variables(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, Mapping):
        raise ConfigError(
            f"variables must be a JSON object, got {type(variables).__name__}",
            where="variables",
            hint='send e.g. {"variables": {"description": "..."}}',
        )
    bad = [key for key in variables if not isinstance(key, str)]
    if bad:
        raise ConfigError(f"variable names must be strings, got {bad[:3]!r}", where="variables")
    return dict(variables)


def _low_confidence(call: _Call, routing: RoutingConfig) -> bool:
    """True when a confidence threshold is set and the answer's confidence is below it (or missing)."""
    if routing.min_confidence is None or routing.confidence_path is None:
        return False
    try:
        value = lookup(call.output_json, split_path(routing.confidence_path, "serve.routing.confidence_path"))
    except MissingPath:
        value = None
    confidence = parse_number(value)
    if confidence is None:
        call.notes.append(f"no confidence at {routing.confidence_path}; sent to a human")
        return True
    if confidence < routing.min_confidence:
        call.notes.append(f"confidence {confidence:g} < {routing.min_confidence:g}")
        return True
    return False


def _stored_record(record: OutputRecord, policy: StoragePolicy) -> OutputRecord:
    """The output record as the feature's data-use setting allows it to be stored."""
    if policy.mode == "full":
        return record
    record.messages = policy.messages(record.messages)
    record.steps = [policy.step(step) for step in record.steps]
    record.output_text = policy.text(record.output_text)
    record.output_json = policy.value(record.output_json)
    record.error = policy.text(record.error)
    record.raw = policy.value(record.raw)
    return record


def _total_cost(outcomes: Sequence[Outcome]) -> tuple[float | None, str | None]:
    costs = [o.cost() for o in outcomes]
    priced = [(c, cur) for c, cur in costs if c is not None]
    currencies = {cur for _, cur in priced}
    if not priced or len(currencies) != 1:
        return None, None
    return sum(c for c, _ in priced if c is not None), currencies.pop()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _counts(counts: PruneCounts) -> tuple[int, int, int]:
    return counts.traces, counts.outputs, counts.feedback


__all__ = ["Gateway", "ImageFetcher"]
