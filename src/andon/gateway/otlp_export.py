"""OTLP export (``gateway.otlp_endpoint``): the spans of the gateway's own traces, sent to an OTLP/HTTP receiver.

Spans are handed over after their trace commits and wait in a bounded queue; one background task sends them
in protobuf batches. Nothing here can slow or fail a call: a full queue, a refused or failed export (a
retryable answer, 429/502/503/504 or no connection, is tried once more) drops the spans, counted in
:class:`ExportStats` and logged (at most once a minute, with the running total).
andon's ids are not OTLP's 16- and 8-byte ids, so the ids sent are hashes of them, and the andon ids travel
as the attributes ``andon.trace_id`` and ``andon.span_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from andon._version import __version__
from andon.config.schema import WorkspaceConfig
from andon.messages import t
from andon.store.spans import SpanRecord

log = logging.getLogger("andon.gateway.otlp")

BATCH_SPANS = 512  # the OpenTelemetry SDK's default export batch
FLUSH_INTERVAL_S = 1.0
_LOG_EVERY_S = 60.0
_RETRYABLE = {429, 502, 503, 504}  # the answers OTLP/HTTP says a client may retry
_ATTEMPTS, _RETRY_DELAY_S = 2, 0.5
_KINDS = {"model": Span.SPAN_KIND_CLIENT, "tool": Span.SPAN_KIND_INTERNAL, "call": Span.SPAN_KIND_SERVER}


def otlp_id(andon_id: str, size: int) -> bytes:
    """A stable OTLP id of ``size`` bytes for an andon id (the same id always maps to the same bytes)."""
    return hashlib.sha256(andon_id.encode("utf-8")).digest()[:size]


def any_value(value: Any) -> AnyValue:
    """A JSON value as an OTLP AnyValue (a mapping becomes a kvlist, a list an array)."""
    out = AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int) and -(2**63) <= value < 2**63:
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list | tuple):
        out.array_value.values.extend(any_value(v) for v in value)
    elif isinstance(value, Mapping):
        out.kvlist_value.values.extend(KeyValue(key=str(k), value=any_value(v)) for k, v in value.items())
    elif value is not None:
        out.string_value = str(value)
    return out


def _nanos(span_time: Any) -> int:
    return int(span_time.timestamp() * 1_000_000) * 1000  # whole microseconds: what a datetime holds


def export_request(spans: Sequence[SpanRecord], service: str) -> ExportTraceServiceRequest:
    """One ``ExportTraceServiceRequest`` holding ``spans`` under the resource ``service.name = service``."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(KeyValue(key="service.name", value=any_value(service)))
    scope = resource.scope_spans.add()
    scope.scope.name, scope.scope.version = "andon", __version__
    for record in spans:
        span = scope.spans.add()
        span.trace_id = otlp_id(record.trace_id, 16)
        span.span_id = otlp_id(record.id, 8)
        if record.parent_id:
            span.parent_span_id = otlp_id(record.parent_id, 8)
        span.name = record.name
        span.kind = _KINDS.get(record.kind, Span.SPAN_KIND_INTERNAL)
        span.start_time_unix_nano = _nanos(record.started_at)
        span.end_time_unix_nano = _nanos(record.finished_at)
        attributes = {**record.attributes, "andon.trace_id": record.trace_id, "andon.span_id": record.id}
        if record.cost is not None:
            attributes["andon.cost"] = record.cost
            attributes["andon.currency"] = record.currency
        span.attributes.extend(KeyValue(key=k, value=any_value(v)) for k, v in attributes.items() if v is not None)
        if record.status == "error":
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = record.error or ""
        else:
            span.status.code = Status.STATUS_CODE_OK
    return request


@dataclass(slots=True)
class ExportStats:
    """What the exporter did since it started."""

    sent: int = 0
    dropped: int = 0
    exports: int = 0
    failed_exports: int = 0


class OtlpExporter:
    """Sends spans to ``endpoint`` in the background: ``start()``, ``offer(spans)`` any number of times, ``stop()``."""

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        *,
        service: str = "andon",
        queue_spans: int = 20_000,
        batch_spans: int = BATCH_SPANS,
        timeout_s: float = 10.0,
        interval_s: float = FLUSH_INTERVAL_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._headers = {**(headers or {}), "content-type": "application/x-protobuf"}
        self._service = service
        self._queue: deque[SpanRecord] = deque()
        self._limit = queue_spans
        self._batch = max(batch_spans, 1)
        self._timeout = timeout_s
        self._interval = interval_s
        self._transport = transport
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._last_log = -_LOG_EVERY_S
        self._stopping = False
        self.stats = ExportStats()

    def offer(self, spans: Sequence[SpanRecord]) -> None:
        """Queue spans for export without waiting; what does not fit is dropped and counted."""
        room = self._limit - len(self._queue)
        if room < len(spans):
            self._queue.extend(spans[: max(room, 0)])
            self._drop(len(spans) - max(room, 0), t("agents.otlp14.export_queue_full"))
        else:
            self._queue.extend(spans)
        if len(self._queue) >= self._batch:
            self._wake.set()

    @property
    def queued(self) -> int:
        """Spans waiting to be sent."""
        return len(self._queue)

    async def start(self) -> None:
        """Start the sending task (idempotent)."""
        if self._task is None:
            self._stopping = False
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport, trust_env=False)
            self._task = asyncio.create_task(self._run(), name="andon-otlp-export")

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (for at most ``timeout_s``), then end the task; what is left is dropped."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        if self._queue:
            self._drop(len(self._queue), "stopped")
            self._queue.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
                continue
            if len(self._queue) < self._batch and not self._stopping:
                # Wait for a fuller batch, but no longer than the interval.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval)
            batch = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            await self._send(batch)

    async def _send(self, batch: list[SpanRecord]) -> None:
        assert self._client is not None
        body = export_request(batch, self._service).SerializeToString()
        for attempt in range(_ATTEMPTS):
            if attempt:
                await asyncio.sleep(_RETRY_DELAY_S)  # OTLP's retryable answers: one more try, then drop
            try:
                answer = await self._client.post(self.endpoint, content=body, headers=self._headers)
            except (httpx.HTTPError, OSError) as exc:
                reason, retry = str(exc) or type(exc).__name__, True
            else:
                if 200 <= answer.status_code < 300:
                    self.stats.sent += len(batch)
                    self.stats.exports += 1
                    return
                reason = t("agents.otlp14.export_failed", status=answer.status_code, body=answer.text[:200])
                retry = answer.status_code in _RETRYABLE
            if not retry or self._stopping:
                break
        self.stats.failed_exports += 1
        self._drop(len(batch), reason)

    def _drop(self, count: int, reason: str) -> None:
        self.stats.dropped += count
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:  # a collector that is down must not flood the log
            self._last_log = now
            log.warning(
                t(
                    "agents.otlp14.export_dropped",
                    endpoint=self.endpoint,
                    count=count,
                    reason=reason,
                    total=self.stats.dropped,
                )
            )


def otlp_exporter(config: WorkspaceConfig) -> OtlpExporter | None:
    """The exporter ``gateway.otlp_endpoint`` asks for (its spans named after the workspace), or None."""
    gateway = config.gateway
    if gateway.otlp_endpoint is None:
        return None
    return OtlpExporter(
        gateway.otlp_endpoint,
        gateway.otlp_headers,
        service=config.name or "andon",
        queue_spans=gateway.otlp_queue_spans,
        timeout_s=gateway.otlp_timeout_s,
    )
