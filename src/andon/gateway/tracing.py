"""Durable traces with group commit: a call is acknowledged only after the transaction holding its trace commits.

Calls hand their trace (with its output record and review items) to :meth:`TraceWriter.write` and wait.
One writer task commits what is waiting in one transaction, then wakes every waiter of that batch. It waits
(up to ``group_commit_ms`` after the oldest waiting trace, or until a batch is full) only while other calls
announced with :meth:`TraceWriter.expecting` are still on their way; a lone call commits at once. A failed commit
fails every call in it, so none of them answers 2xx for a trace that is not stored.
:func:`stored_forms` turns a finished call into the trace, output records and review items its data use allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from andon.agents.spans import trace_spans
from andon.config.schema import DataUseConfig, WorkspaceConfig
from andon.engine.pipeline import Outcome
from andon.errors import StoreError
from andon.gateway.call import Call, ms_since
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.redact import StoragePolicy, input_hash
from andon.messages import t
from andon.store import Store
from andon.store.models import utcnow
from andon.store.outbox import NewNotification
from andon.store.records import OutputRecord, ReviewItem, TraceRecord
from andon.store.spans import SpanRecord

log = logging.getLogger("andon.gateway")

DEFAULT_MAX_BATCH = 256
# The announcement of the call running in this task (see TraceWriter.expecting): [task, still expected].
_ANNOUNCED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("andon_trace_announced", default=None)


class TraceWriteError(StoreError):
    """The trace could not be committed, so the call it records must not be acknowledged."""


@dataclass(slots=True)
class _Pending:
    trace: TraceRecord
    outputs: Sequence[OutputRecord]
    review_items: Sequence[ReviewItem]
    future: asyncio.Future[None]
    enqueued: float = field(default_factory=time.monotonic)
    notifications: Sequence[NewNotification] = ()


@dataclass(slots=True)
class WriterStats:
    """Counters of the writer, for tests and the bench: commits, traces written, failures."""

    commits: int = 0
    traces: int = 0
    failed: int = 0
    largest_batch: int = 0


class TraceWriter:
    """Group-commits traces to the store from one background task; start it, write, stop it."""

    def __init__(
        self,
        store: Store,
        *,
        group_commit_ms: float = 5.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        metrics: GatewayMetrics | None = None,
        on_spans: Callable[[Sequence[SpanRecord]], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._window = max(group_commit_ms, 0.0) / 1000
        self._expected = 0  # announced calls that have not handed over their trace yet
        self._max = max_batch
        self._metrics = metrics
        self._on_spans = on_spans  # issue 14: committed spans go to the OTLP exporter (it never blocks)
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()  # something is pending, or stop was asked
        self._full = asyncio.Event()  # a whole batch is pending: commit without waiting out the window
        self._task: asyncio.Task[None] | None = None
        # Its own thread: a commit never waits behind other work queued on the default executor.
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = False
        self.stats = WriterStats()
        self.last_error: BaseException | None = None

    @property
    def running(self) -> bool:
        """Whether the writer accepts traces."""
        return self._task is not None and not self._task.done() and not self._stopping

    async def start(self) -> None:
        """Start the writer task (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping = False
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="andon-traces")
            self._task = asyncio.create_task(self._run(), name="andon-trace-writer")

    async def stop(self) -> None:
        """Commit everything still waiting, then end the writer task."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        self._full.set()
        await self._task
        self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @contextlib.contextmanager
    def expecting(self) -> Iterator[None]:
        """Announce a call that will (most likely) write a trace: while announced calls are on their way, a
        waiting trace may wait out the window to share their commit; with none, it commits at once."""
        token = _ANNOUNCED.set([asyncio.current_task(), True])
        self._expected += 1
        try:
            yield
        finally:
            announced = _ANNOUNCED.get()
            _ANNOUNCED.reset(token)
            if announced is not None and announced[1]:
                self._arrived()  # it ended without a trace (refused, not found): nobody waits for it any more

    def _arrived(self) -> None:
        self._expected -= 1
        if self._expected <= 0 and self._pending:
            self._full.set()  # everything announced is here: commit without waiting out the window

    async def write(
        self,
        trace: TraceRecord,
        outputs: Sequence[OutputRecord] = (),
        review_items: Sequence[ReviewItem] = (),
        notifications: Sequence[NewNotification] = (),
    ) -> None:
        """Queue one trace and wait until the transaction holding it commits; raise TraceWriteError if not.

        ``notifications`` (a guard's route) go into the outbox in that same transaction.
        """
        if not self.running:
            raise TraceWriteError(t("house3.tracing.stopped"), hint=t("house3.tracing.stopped_hint"))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        pending = _Pending(trace, tuple(outputs), tuple(review_items), future, notifications=tuple(notifications))
        self._pending.append(pending)
        self._wake.set()
        announced = _ANNOUNCED.get()
        if announced is not None and announced[1] and announced[0] is asyncio.current_task():
            announced[1] = False  # a probe task inherits the context: only the announcing task itself counts
            self._arrived()
        if len(self._pending) >= self._max:
            self._full.set()
        # If the caller is cancelled (client gone) the trace is still committed with its batch.
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._pending:
                if self._stopping:
                    return
                self._wake.clear()
                continue
            delay = self._pending[0].enqueued + self._window - time.monotonic()
            # Wait for batch-mates only while announced calls are still on their way: a lone call (or the last
            # of a burst) commits at once, so batching comes from concurrency, never from a timer.
            if delay > 0 and self._expected > 0 and len(self._pending) < self._max and not self._stopping:
                self._full.clear()
                if self._expected > 0 and len(self._pending) < self._max:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), delay)
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            if not self._pending and not self._stopping:
                self._wake.clear()
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            await self._save(batch)
        except Exception as exc:
            if isinstance(exc, StoreError) or len(batch) == 1:
                # The store itself is unreachable (or only one trace): every call of the batch fails.
                self._fail(batch, exc, started, store_down=isinstance(exc, StoreError))
                return
            # A bad row (a clash, a value the database refuses) must not take its batch-mates down:
            # commit each alone, so only the culprit fails.
            log.warning("group commit of %d traces failed (%s); retrying one by one", len(batch), exc)
            for item in batch:
                one_started = time.perf_counter()
                try:
                    await self._save([item])
                except Exception as one_exc:
                    self._fail([item], one_exc, one_started, store_down=isinstance(one_exc, StoreError))
                else:
                    self._done([item], one_started)
            return
        self._done(batch, started)

    async def _save(self, batch: list[_Pending]) -> None:
        traces = [p.trace for p in batch]
        outputs = [o for p in batch for o in p.outputs]
        reviews: list[Any] = [item for p in batch for item in p.review_items]
        notes = [note for p in batch for note in p.notifications]
        spans = [span for p in batch for span in trace_spans(p.trace, p.outputs)]  # issue 14: the call's tree
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._store.save_traces, traces, outputs, reviews, notes, spans)
        if self._on_spans is not None:
            self._on_spans(spans)

    def _done(self, batch: list[_Pending], started: float) -> None:
        self.stats.commits += 1
        self.stats.traces += len(batch)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        self.last_error = None
        if self._metrics is not None:
            self._metrics.observe_commit(time.perf_counter() - started, len(batch), failed=False)
        for item in batch:
            if not item.future.done():
                item.future.set_result(None)

    def _fail(self, batch: list[_Pending], exc: BaseException, started: float, *, store_down: bool) -> None:
        self.stats.failed += len(batch)
        if store_down:
            self.last_error = exc  # one refused row says nothing about the store; an unreachable store does
        if self._metrics is not None:
            self._metrics.observe_commit(time.perf_counter() - started, len(batch), failed=True)
        log.error("could not commit %d trace(s): %s", len(batch), exc)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        for item in batch:
            if not item.future.done():
                error = TraceWriteError(
                    f"the trace {item.trace.id} could not be stored: {detail}",
                    hint="the call was not acknowledged; check the store (andon check) and try again",
                )
                item.future.set_exception(error)


def trace_record(row: Mapping[str, Any]) -> TraceRecord:
    """A stored trace (the store's column dict) as a :class:`TraceRecord`."""
    return TraceRecord(**{**row, "tags": dict(row.get("tags") or {})})


def retention_cutoffs(
    config: WorkspaceConfig, now: datetime, *, days: int | None = None
) -> tuple[dict[str, datetime], datetime]:
    """Per-feature prune cutoffs from ``data_use.retention_days`` (or ``days`` for all), and the cutoff for
    traces of features not in andon.yaml (the default retention, or ``days``)."""
    cutoffs = {
        name: now - timedelta(days=days if days is not None else feature.serve.data_use.retention_days)
        for name, feature in config.features.items()
    }
    default = now - timedelta(days=days if days is not None else DataUseConfig().retention_days)
    return cutoffs, default


# --- a call's stored forms ------------------------------------------------------------------------


def stored_forms(
    call: Call, *, now: datetime | None = None
) -> tuple[TraceRecord, list[OutputRecord], list[ReviewItem], str | None]:
    """The trace, output records and review items of a call, as its storage policy lets them be stored.

    ``now`` is the trace's time (default: the wall clock; the cord bench gives simulated time).
    """
    version = call.version
    policy = call.storage.once()  # the prompt and the answer recur in the trace, the record and its steps
    served = call.served
    records: list[OutputRecord] = []
    output_id: str | None = None
    for outcome in call.outcomes:
        context = {"trace_id": call.trace_id, "gateway": True, "route": call.route}
        if outcome is not served:
            context["attempt"] = "failed before fallback"
        else:
            context["ai_generated"] = call.ai_generated  # the AI notice the answer carried
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
            priority=call.review_priority,
        )
        review_items.append(item)
        review_id = item.id
    latency_ms = ms_since(call.entered)
    trace = TraceRecord(
        id=call.trace_id,
        feature=call.feature,
        route=call.route,
        status=call.status,
        input_mode=policy.mode,
        input=policy.input(call.variables),
        input_hash=input_hash(call.variables),
        created_at=now or utcnow(),
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
        tags={**policy.tags(_guard_tags(call)), **call.split_tags},  # ours last: a client cannot fake an arm
        note="; ".join(call.notes) or None,
    )
    return trace, records, review_items, review_id


def _guard_tags(call: Call) -> dict[str, Any]:
    """The caller's tags, plus the guard's action and checks when one acted (monitors can count them)."""
    if call.guard is None:
        return call.caller.tags
    return {**call.caller.tags, "guard": {"action": call.guard["action"], "checks": call.guard["checks"]}}


def storable_output(config: WorkspaceConfig, feature: str, record: OutputRecord) -> OutputRecord:
    """An output record made outside a call (a resumed tool approval, a live judgement), as ``feature``'s data use
    stores it."""
    found = config.features.get(feature)
    data_use = found.serve.data_use if found is not None else DataUseConfig()
    return _stored_record(record, StoragePolicy.of(data_use.inputs, data_use.redact).once())


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
