"""Prometheus metrics of one gateway: requests, latency, tokens, cost, cache hits and routes per feature.

Each :class:`GatewayMetrics` has its own registry (never the process-global one), so two gateways in
one process (tests, a bench) do not mix their numbers. With several uvicorn workers each worker
reports its own counters; Prometheus sums them per instance label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from andon.store.records import TraceRecord

# Seconds; from a cache hit (~1 ms) to a slow multi-step model call (~1 min).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
CONTENT_TYPE = CONTENT_TYPE_LATEST


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
            "andon_circuit_open", "1 while a provider's circuit is open.", ["provider"], registry=r
        )
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
        """The Prometheus text exposition of every metric (serve with :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
