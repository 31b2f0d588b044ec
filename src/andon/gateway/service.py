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
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from andon.config.conversation import messages_variable
from andon.config.schema import DataUseConfig, FeatureConfig, Params
from andon.deploy import JudgementMemo, LiveState, live_version
from andon.deploy.assignment import Split, choose, unit_key
from andon.deploy.rollout import traffic_split
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome, run_version
from andon.errors import AndonError, ConfigError, MalformedReply, NotFoundError, ProviderError, ProviderTimeout
from andon.gateway.call import Call, ms_since
from andon.gateway.circuit import CALL_LOG, CallLog, CircuitOpenError, Circuits, GuardedProviders
from andon.gateway.disclosure import ai_generated, notices
from andon.gateway.experiments import ExperimentPicker
from andon.gateway.guarding import (
    apply_guard,
    check_notifiers,
    guard_answer,
    guard_fallback,
    guard_notifications,
    guard_stopped,
    screened_clean,
)
from andon.gateway.live_judge import LiveJudge
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.openai_compat import adhoc_version
from andon.gateway.otlp_export import otlp_exporter
from andon.gateway.redact import StoragePolicy
from andon.gateway.routing import fall_back, fallback_version, park, route, serve_stopped
from andon.gateway.tracing import TraceWriter, retention_cutoffs, stored_forms
from andon.gateway.types import AnswerCache, Caller, InvokeResult
from andon.messages import t
from andon.providers.base import Message
from andon.providers.python import load_function
from andon.store.experiments import ExperimentRecord
from andon.store.models import utcnow
from andon.store.records import new_id
from andon.store.rollouts import RolloutRecord
from andon.store.traces import FeedbackRecord, PruneCounts, check_feedback
from andon.versions.canonical import PYTHON_PROVIDER, Version, version_from_content
from andon.versions.history import IMAGE_KINDS, image_url_of
from andon.watch.monitors import probe_share
from andon.watch.outbox import deliver_due
from andon.workspace import Workspace

log = logging.getLogger("andon.gateway")

DEFAULT_PRUNE_INTERVAL_S = 3600.0


class ImageFetcher(Protocol):
    """Turns a user's http(s) image URL into a ``data:`` URL after its safety checks (see ``fetch.py``)."""

    async def fetch(self, url: str) -> str:
        """The image at ``url`` as a data URL; raises an AndonError when it is unsafe or unusable."""
        ...


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
    (None: never, e.g. when a cron job runs ``andon traces prune``). ``clock`` is "now" for traces and
    retention (default: the wall clock; the cord bench drives simulated time through it).
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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.ws = ws
        self.clock = clock
        self.config = ws.config
        self.answer_cache = answer_cache
        self.image_fetcher = image_fetcher
        self._own_fetcher: Any = None  # built here on first use, so closed here
        self.metrics = metrics or GatewayMetrics()  # given when a reloaded config replaces this gateway
        gateway = self.config.gateway
        self.circuits = Circuits(gateway.circuit_failures, gateway.circuit_reset_s)
        self.exporter = otlp_exporter(ws.config)  # issue 14: gateway.otlp_endpoint
        self.writer = TraceWriter(
            ws.store, group_commit_ms=gateway.group_commit_ms, max_batch=max_batch, metrics=self.metrics,
            on_spans=self.exporter.offer if self.exporter is not None else None,
        )  # fmt: skip
        self._providers = GuardedProviders(ws, self.circuits, self.metrics)
        self.live_judge = LiveJudge(ws)
        self._state_ttl_s = state_ttl_s
        self._prune_interval_s = prune_interval_s
        self._declared: dict[str, list[Version]] = {}
        self._by_id: dict[tuple[str, str], Version] = {}
        self._policies: dict[str, Callable[..., Any]] = {}
        self._state: dict[str, tuple[float, LiveState]] = {}
        self._splits: dict[str, tuple[float, Split | None]] = {}
        self.experiments = ExperimentPicker(ws, state_ttl_s)  # A/B arms (gateway/experiments.py)
        self._judgements: JudgementMemo = {}  # serve.live's gate, judged once per (run, version, criteria)
        self._registered: set[str] = set()
        self._prune_task: asyncio.Task[None] | None = None
        self._probes: set[asyncio.Task[None]] = set()
        self._probe_credit: dict[str, float] = {}
        self._deliveries: set[asyncio.Task[None]] = set()  # a guard's notifications, sent at once
        self._started = False

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Register the declared versions, load routing policies, check fallbacks, start the trace writer."""
        await asyncio.to_thread(self._load)
        if self.exporter is not None:
            await self.exporter.start()
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
        await self.settle_probes()
        await self.live_judge.settle()
        await self.settle_deliveries()
        await self.writer.stop()
        if self.exporter is not None:
            await self.exporter.stop()  # after the writer: its last commits' spans are sent too
        if self._own_fetcher is not None:
            await self._own_fetcher.aclose()
            self.image_fetcher = self._own_fetcher = None

    def ready(self) -> bool:
        """Whether calls can be served and their traces stored (started, writer running, last commit fine)."""
        return self._started and self.writer.running and self.writer.last_error is None

    def _load(self) -> None:
        for name, feature in self.config.features.items():
            declared = self.ws.sync_versions(name)
            check_notifiers(self.config, name, declared)
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
                (fallback_version(feature.serve.routing), "routing.fallback"),
            ):
                if ref is not None and not self._find_declared(name, ref):
                    try:
                        self.ws.store.get_version(name, ref)
                    except NotFoundError as exc:
                        raise ConfigError(
                            t("house3.service.not_version", ref=ref, feature=name),
                            where=f"{where}.{at}",
                            hint=t(
                                "house3.service.declared",
                                versions=", ".join(v.name for v in declared) or t("house3.outbox.none"),
                            ),
                        ) from exc
            state = live_version(self.ws, name, memo=self._judgements)
            if state.version_id is None:
                # Not fatal: the other features serve; this one answers `not_live` until a version is promoted.
                log.warning("%s: nothing is live: %s; promote a version: andon promote %s VERSION",
                            name, state.why_not, name)  # fmt: skip

    def _check_started(self) -> None:
        if not self._started:
            raise AndonError(t("house3.service.not_started"), hint=t("house3.service.not_started_hint"))

    # --- versions and feature state -----------------------------------------------------------------

    def _feature(self, feature: str) -> FeatureConfig:
        return self.ws.feature(feature)

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

    async def _routing(self, feature: str, *, choosing: bool) -> tuple[LiveState, RoutingReads]:
        """The feature's state and, when the call lets the live version be chosen (``choosing``), its running
        rollout and experiment: each read as often as before (every call unless cached), but in ONE hop to a
        worker thread instead of three (each hop cost about a tenth of a millisecond and the GIL hand-offs)."""
        now = time.monotonic()
        cached = self._state.get(feature)
        need_split = choosing and not ((hit := self._splits.get(feature)) is not None and hit[0] > now)
        need_experiment = choosing and self.experiments.stale(feature, now)
        if cached is not None and cached[0] > now:
            return cached[1], RoutingReads()  # the state is cached: rollout and experiment are read as they always were

        def read() -> tuple[LiveState, RoutingReads]:
            state = live_version(self.ws, feature, memo=self._judgements)
            if state.stopped or not (need_split or need_experiment):
                return state, RoutingReads()
            rollout = self.ws.store.active_rollout(feature) if need_split else None
            # With a rollout running the experiment is rarely asked for (a rollout's arm stands): read it then.
            experiment = self.ws.store.active_experiment(feature) if need_experiment and rollout is None else None
            return state, RoutingReads(need_split, rollout, need_experiment and rollout is None, experiment)

        state, reads = await asyncio.to_thread(read)
        if self._state_ttl_s > 0:
            self._state[feature] = (now + self._state_ttl_s, state)
        return state, reads

    async def _split(self, call: Call, state: LiveState, reads: RoutingReads | None = None) -> None:
        """A running rollout's sticky split picks the version (a caller without the sticky key gets the stable one)."""
        now = time.monotonic()
        cached = self._splits.get(call.feature)
        if cached is not None and cached[0] > now:
            split = cached[1]
        else:
            if reads is not None and reads.rollout_read:
                record = reads.rollout
            else:
                record = await asyncio.to_thread(self.ws.store.active_rollout, call.feature)
            split = traffic_split(record, state.version_id)
            if self._state_ttl_s > 0:
                self._splits[call.feature] = (now + self._state_ttl_s, split)
        if split is None:
            return
        caller = call.caller
        unit = unit_key(split.sticky, user_id=caller.user_id, session_id=caller.session_id, tenant=caller.tenant,
                        call_id=call.trace_id)  # fmt: skip
        arm = choose(split, unit) if unit is not None else split.arms[-1]
        call.version = await self._version(call.feature, arm.version_id)
        call.split_tags = {"andon.rollout": split.split_id, "andon.arm": arm.label}

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
        with self.writer.expecting():  # other calls' traces may wait to share this one's commit
            return await self._invoke(feature, variables, caller, version, entered)

    async def _invoke(
        self, feature: str, variables: Mapping[str, Any], caller: Caller, version: str | None, entered: float
    ) -> InvokeResult:
        self._check_started()
        config = self._feature(feature)
        values = _check_variables(variables)
        data_use = config.serve.data_use
        call = Call(new_id("trc"), feature, caller, values, StoragePolicy.of(data_use.inputs, data_use.redact), entered)
        state, reads = await self._routing(feature, choosing=version is None)
        stopped, reason = state.stopped, state.stop_reason
        if version is not None:
            call.version = await self._version(feature, version)
        else:
            call.version = await self._serving(feature, state)
            if not stopped:
                await self._split(call, state, reads)
                await self.experiments.pick(call, self._version, read=reads.experiment_read, record=reads.experiment)
        meant = call.version  # the version that would have answered: its guards judge a fallback's answer too
        if stopped:
            call.queue_ms = ms_since(entered)
            self._maybe_probe(call, state)
            if await guard_stopped(call, values) not in ("route", "block"):  # the guard runs on fallbacks too
                await serve_stopped(call, config.serve.routing, reason, values, version=self._version,
                                    prepare=self._prepare_images, run=self._run)  # fmt: skip
                guard_fallback(call)
                await guard_answer(call, meant)
            return await self._finish(call)
        if self.answer_cache is not None and config.serve.cache.enabled and screened_clean(call.version, values):
            await self._lookup_cache(call)
        if call.cached is None:
            prepared = await self._prepare_images(call.version, values)
            call.queue_ms = ms_since(entered) - call.cache_ms
            outcome = await self._run(call, call.version, prepared)
            if outcome.status == "parked":  # a tool call waits for a person's approval (review.tool_approval)
                park(call, outcome)
                return await self._finish(call)
            if outcome.status == "error":
                await fall_back(call, config.serve.routing, outcome, prepared, version=self._version, run=self._run)
                guard_fallback(call, outcome)
                await guard_answer(call, meant)
                return await self._finish(call)
            call.served = outcome
            call.output_text, call.output_json = outcome.output_text, outcome.output_json
            if apply_guard(call, outcome) in ("route", "block"):
                return await self._finish(call)  # a person answers, or the safe answer stands: no other routing
        await route(call, config.serve.routing, self._policies.get(feature))
        return await self._finish(call)

    async def _lookup_cache(self, call: Call) -> None:
        assert self.answer_cache is not None and call.version is not None
        call.queue_ms = ms_since(call.entered)
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
        call.cache_ms = ms_since(started)
        if hit is not None:
            call.cached = hit
            call.output_text, call.output_json = hit.output_text, hit.output_json
            call.notes.append(f"{hit.hit} cache hit (similarity {hit.similarity:.3f}) of trace {hit.trace_id}")

    # --- shadow probes of a stopped feature ------------------------------------------------------------

    def _maybe_probe(self, call: Call, state: LiveState) -> None:
        """While a monitor with ``resume: on_recovery`` holds the feature stopped, send its ``resume.probe``
        share of calls to the live version too, in the background: recorded, never served."""
        share = probe_share(self.config, call.feature, state.stopped_by)
        if share <= 0 or call.version is None or call.version.id != state.version_id:
            return  # nothing to measure, or the caller asked for another version than the live one
        # Deterministic credit (no random draw): exactly `share` of the calls, the first one included.
        credit = self._probe_credit.get(call.feature, 1.0 - share) + share
        if credit < 1.0 - 1e-9:
            self._probe_credit[call.feature] = credit
            return
        self._probe_credit[call.feature] = credit - 1.0
        task = asyncio.create_task(self._probe(call, call.version), name=f"andon-probe-{call.feature}")
        self._probes.add(task)
        task.add_done_callback(self._probes.discard)

    async def _probe(self, served: Call, live: Version) -> None:
        call = Call(new_id("trc"), served.feature, served.caller, served.variables, served.storage,
                    time.perf_counter(), version=live, route="probe")  # fmt: skip
        call.notes.append("shadow probe of the live version while the feature is stopped (not served)")
        try:
            prepared = await self._prepare_images(live, call.variables)
            outcome = await self._run(call, live, prepared, fallback=True)
            call.served = outcome
            call.status = "ok" if outcome.status == "ok" else "error"
            call.output_text, call.output_json = outcome.output_text, outcome.output_json
            trace, records, _items, _review = await asyncio.to_thread(stored_forms, call)
            await self.writer.write(trace, records)
        except Exception:
            # A probe only measures: whatever befalls it, the call it shadows was answered by the fallback.
            log.exception("the shadow probe of %s failed", call.feature)

    def _deliver_now(self) -> None:
        """Send the outbox's due notifications now, in the background (a watcher may send them too: leases)."""
        task = asyncio.create_task(self._deliver(), name="andon-guard-notify")
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self) -> None:
        try:
            await deliver_due(self.ws)
        except Exception:
            # The rows stay in the outbox: the next delivery (or `andon watch`) sends them.
            log.exception("delivering a guard's notification failed; it stays in the outbox")

    async def settle_deliveries(self) -> None:
        """Wait until every notification delivery started so far has finished."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)

    async def settle_probes(self) -> None:
        """Wait until every shadow probe started so far has its trace committed (or has failed)."""
        while self._probes:
            await asyncio.gather(*list(self._probes), return_exceptions=True)

    async def _prepare_images(self, version: Version, variables: dict[str, Any]) -> dict[str, Any]:
        """Image variables as data URLs: http(s) ones fetched through the SSRF-safe fetcher, paths refused."""
        for step in version.steps:
            if step.messages is not None and (name := messages_variable(step.messages)) in variables:
                _refuse_image_paths(name, variables[name])
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
                    t("house3.service.image_type", name=name, type=type(value).__name__),
                    where=where,
                    hint=t("house3.service.image_type_hint"),
                )
            if value.startswith(("http://", "https://")):
                urls[name] = value
            elif not value.startswith("data:image/"):
                # A path would make the server read its own files and send them to a model.
                raise ConfigError(
                    t("house3.service.image_kind", name=name),
                    where=where,
                    hint=t("house3.service.image_kind_hint"),
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

    async def _run(self, call: Call, version: Version, variables: dict[str, Any], *, fallback: bool = False) -> Outcome:
        """Run a version through the guarded providers; the provider's failure (if any) is kept.

        Variables that do not fit the served version are the caller's error (ConfigError); a fallback
        version that does not fit them is the feature's own failure, reported as such.
        """
        log_token = CALL_LOG.set(CallLog())
        started = time.perf_counter()
        try:
            outcome = await run_version(version, variables, self._providers, masking=self._masking(version.feature))
            fault = CALL_LOG.get()
        finally:
            CALL_LOG.reset(log_token)
        call.provider_ms += ms_since(started)
        if _render_failed(outcome) and not fallback:
            raise ConfigError(
                t("house3.service.render", version=version.name, error=outcome.error),
                where=f"features.{version.feature}.versions.{version.name}",
                hint=t("house3.service.render_hint"),
            )
        call.outcomes.append(outcome)
        if outcome.status == "error":
            call.error = outcome.error
            call.error_code = _error_code(outcome, fault.fault if fault is not None else None)
        return outcome

    def _masking(self, feature: str) -> MaskPolicy | None:
        """The feature's ``serve.data_use.send: masked`` policy; ad-hoc provider models send as given."""
        config = self.config.features.get(feature)
        return MaskPolicy.of(config.serve.data_use) if config is not None else None

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
        with self.writer.expecting():
            return await self._call_model(provider, model, messages, params, caller, entered)

    async def _call_model(
        self,
        provider: str,
        model: str,
        messages: Sequence[Message],
        params: Params | None,
        caller: Caller,
        entered: float,
    ) -> InvokeResult:
        self._check_started()
        version, variables = adhoc_version(self.config, provider, model, messages, params or Params())
        if version.id not in self._registered:
            await asyncio.to_thread(
                self.ws.store.register_version, version.feature, version.name, version.id, version.content
            )
            self._registered.add(version.id)
        data_use = DataUseConfig()
        call = Call(
            new_id("trc"), version.feature, caller, variables, StoragePolicy.of(data_use.inputs, data_use.redact),
            entered, version=version,
        )  # fmt: skip
        prepared = await self._prepare_images(version, variables)
        call.queue_ms = ms_since(entered)
        outcome = await self._run(call, version, prepared)
        call.served = outcome
        call.output_text, call.output_json = outcome.output_text, outcome.output_json
        if outcome.status == "error":
            call.status = "error"
        return await self._finish(call)

    # --- finishing: trace, records, metrics, cache ----------------------------------------------------

    async def _finish(self, call: Call) -> InvokeResult:
        """Build the trace and records, wait for their commit, then count and cache."""
        feature = self.config.features.get(call.feature)
        call.ai_generated = ai_generated(feature, call)
        # Redaction and hashing take time in proportion to the body: a worker thread does them, so the event loop goes
        # on answering other calls (and /healthz) meanwhile. (Building small calls' forms on the loop instead made
        # concurrent calls slower in a paired run: 31-34 vs 42-68 calls/s at concurrency 16, so the hop stays.)
        trace, records, review_items, review_id = await asyncio.to_thread(stored_forms, call, now=self.clock())
        notifications = guard_notifications(self.config, call, review_id)
        await self.writer.write(trace, records, review_items, notifications)
        if notifications:
            self._deliver_now()
        self.metrics.observe(trace, cache_looked_up=call.cache_looked_up)
        await self._remember(call)
        self.live_judge.offer(call)  # after the commit: a judgement updates the stored trace
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
            latency_ms=ms_since(call.entered),
            input_tokens=trace.input_tokens,
            output_tokens=trace.output_tokens,
            cost=trace.cost,
            currency=trace.currency,
            ai_generated=call.ai_generated and not answer_hidden,
            ai_notice=notices(feature) if call.ai_generated and not answer_hidden else None,
            guard=call.guard,
        )

    async def _remember(self, call: Call) -> None:
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
            or call.guard is not None  # a guard acted: the next such call must meet the guard again
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
        check_feedback(score=score, thumbs=thumbs, comment=comment)

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
        cutoffs, default = retention_cutoffs(self.config, self.clock(), days=days)
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


@dataclass(frozen=True, slots=True)
class RoutingReads:
    """What :meth:`Gateway._routing` read beside the feature's state (``*_read`` False: not read, ask the store)."""

    rollout_read: bool = False
    rollout: RolloutRecord | None = None
    experiment_read: bool = False
    experiment: ExperimentRecord | None = None


def _refuse_image_paths(name: str, history: Any) -> None:
    """A conversation step reads an image part's path as a local file: from a caller only URLs may come."""
    for index, message in enumerate(history if isinstance(history, list) else []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for position, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, Mapping) or part.get("type") not in IMAGE_KINDS:
                continue  # text, or a part the step's own reading refuses with its reason
            url = image_url_of(part)
            if not (isinstance(url, str) and url.startswith(("http://", "https://", "data:image/"))):
                # A path would make the server read its own files and send them to a model.
                where = f"{name}[{index}].content[{position}]"
                raise ConfigError(
                    t("house3.service.image_kind", name=where),
                    where=f"variables.{where}",
                    hint=t("house3.service.image_kind_hint"),
                )


def _check_variables(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, Mapping):
        raise ConfigError(
            t("house3.service.vars_object", type=type(variables).__name__),
            where="variables",
            hint=t("house3.service.vars_object_hint"),
        )
    bad = [key for key in variables if not isinstance(key, str)]
    if bad:
        raise ConfigError(t("house3.service.var_names", names=bad[:3]), where="variables")
    return dict(variables)


def _counts(counts: PruneCounts) -> tuple[int, int, int]:
    return counts.traces, counts.outputs, counts.feedback


__all__ = ["Gateway", "ImageFetcher"]
