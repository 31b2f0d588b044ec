"""Prometheus metrics of one gateway: requests, latency, tokens, cost, cache hits and routes per feature.

Each :class:`GatewayMetrics` has its own registry (never the process-global one), so two gateways in
one process (tests, a bench) do not mix their numbers. With ``andon serve --workers N`` every worker writes its
values to files in one directory (prometheus-client's multiprocess mode, :data:`MULTIPROC_ENV`, set up by
``andon serve`` before the workers start) and ``/metrics``, whichever worker answers it, reports the sum over
all workers, the ones that have exited included (counters never go back).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from andon.store.records import TraceRecord

# Seconds; from a cache hit (~1 ms) to a slow multi-step model call (~1 min).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable, read when it is first imported


def multiprocess_dir() -> str | None:
    """The directory the metrics of this process go to, or None when they live in memory (one process)."""
    # The mode is fixed when prometheus_client is imported: the variable set later changes nothing in this process.
    if values.ValueClass is values.MutexValue:
        return None
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())


def worker_exited(pid: int | None = None) -> None:
    """Drop an ended worker's live gauges (its counters stay in the sums); a no-op with one process."""
    path = multiprocess_dir()
    if path is not None:
        mark_process_dead(os.getpid() if pid is None else pid, path)  # type: ignore[no-untyped-call]


class GatewayMetrics:
    """The gateway's metrics; ``observe`` one finished trace, ``render`` for ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "andon_requests", "Calls served, by feature, route, status and cache.",
            ["feature", "route", "status", "cache"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "andon_request_latency_seconds", "Gateway time of a call (before its trace commit), by feature.",
            ["feature"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.provider_latency = Histogram(
            "andon_provider_latency_seconds", "Time spent in the provider for calls that reached it.",
            ["feature", "provider"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "andon_tokens", "Tokens sent (input) and received (output), by feature.",
            ["feature", "direction"], registry=r,
        )  # fmt: skip
        self.cost = Counter(
            "andon_cost", "Cost of calls, by feature and currency.", ["feature", "currency"], registry=r
        )
        self.cache_lookups = Counter(
            "andon_cache_lookups", "Answer-cache lookups, by feature.", ["feature"], registry=r
        )
        self.cache_hits = Counter(
            "andon_cache_hits", "Answer-cache hits, by feature and kind (exact, semantic).",
            ["feature", "kind"], registry=r,
        )  # fmt: skip
        self.routes = Counter(
            "andon_routes", "Calls by route (ai, human, shadow, fallback).", ["feature", "route"], registry=r
        )
        self.errors = Counter(
            "andon_errors", "Calls that ended in error, by feature and code.", ["feature", "code"], registry=r
        )
        self.circuit_open = Gauge(
            "andon_circuit_open", "1 while a provider's circuit is open (in any live worker).", ["provider"],
            registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        self.trace_commit = Histogram(
            "andon_trace_commit_seconds", "Duration of one group commit of traces.", buckets=COMMIT_BUCKETS, registry=r
        )
        self.trace_batch = Histogram(
            "andon_trace_batch_size", "Traces per group commit.", buckets=BATCH_BUCKETS, registry=r
        )
        self.trace_failures = Counter(
            "andon_trace_write_failures", "Traces whose commit failed (their calls got no 2xx).", registry=r
        )

    def observe(self, trace: TraceRecord, *, cache_looked_up: bool = False) -> None:
        """Count one finished call from its trace."""
        feature = trace.feature
        self.requests.labels(feature, trace.route, trace.status, trace.cache or "none").inc()
        self.routes.labels(feature, trace.route).inc()
        self.latency.labels(feature).observe(max(trace.latency_ms, 0.0) / 1000)
        if trace.provider_ms > 0 and trace.provider:
            self.provider_latency.labels(feature, trace.provider).observe(trace.provider_ms / 1000)
        if trace.input_tokens:
            self.tokens.labels(feature, "input").inc(trace.input_tokens)
        if trace.output_tokens:
            self.tokens.labels(feature, "output").inc(trace.output_tokens)
        if trace.cost is not None and trace.currency and trace.cost > 0:
            self.cost.labels(feature, trace.currency).inc(trace.cost)
        if cache_looked_up:
            self.cache_lookups.labels(feature).inc()
        if trace.cache:
            self.cache_hits.labels(feature, trace.cache).inc()
        if trace.status == "error":
            self.errors.labels(feature, trace.error_code or "unknown").inc()

    def observe_commit(self, seconds: float, size: int, *, failed: bool) -> None:
        """Count one group commit of ``size`` traces."""
        self.trace_commit.observe(max(seconds, 0.0))
        self.trace_batch.observe(size)
        if failed:
            self.trace_failures.inc(size)

    def set_circuit(self, provider: str, is_open: bool) -> None:
        """Show a provider's circuit state."""
        self.circuit_open.labels(provider).set(1.0 if is_open else 0.0)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (serve with :data:`CONTENT_TYPE`), summed over the
        workers in multiprocess mode."""
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=path)  # type: ignore[no-untyped-call]
        return generate_latest(merged)
