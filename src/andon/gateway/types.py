"""Value objects shared by the gateway's parts (service, HTTP face, cache, traces, review queue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Route = Literal["ai", "human", "shadow", "fallback"]
CacheHit = Literal["exact", "semantic"]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the API key (if any) and the ids the client sent for users, sessions and tenants."""

    api_key_id: str | None = None
    scopes: frozenset[str] = frozenset({"invoke", "review", "admin"})
    user_id: str | None = None
    session_id: str | None = None
    tenant: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class InvokeResult:
    """What one invoke returns to the client (and what its trace records)."""

    trace_id: str
    feature: str
    route: Route
    status: str  # ok | error | queued
    version_id: str | None
    version_name: str | None
    output_text: str | None = None
    output_json: Any = None
    cached: CacheHit | None = None
    review_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None


@dataclass(slots=True)
class TraceRecord:
    """One trace as stored (mirrors the ``traces`` table)."""

    id: str
    feature: str
    route: str
    status: str
    input_mode: str
    input: Any
    input_hash: str
    created_at: datetime
    version_id: str | None = None
    version_name: str | None = None
    output_id: str | None = None
    cache: str | None = None
    output_text: str | None = None
    output_json: Any = None
    error: str | None = None
    error_code: str | None = None
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    latency_ms: float = 0.0
    queue_ms: float = 0.0
    cache_ms: float = 0.0
    provider_ms: float = 0.0
    user_id: str | None = None
    session_id: str | None = None
    tenant: str | None = None
    api_key_id: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    """An answer served from the cache, with how it matched."""

    hit: CacheHit
    output_text: str | None
    output_json: Any
    similarity: float
    trace_id: str | None


class AnswerCache(Protocol):
    """The gateway's answer cache (exact + semantic), isolated by feature, version, tenant and API key."""

    async def lookup(
        self, feature: str, version_id: str, tenant: str, variables: dict[str, Any], *, api_key: str | None = None
    ) -> CachedAnswer | None:
        """A cached answer for these variables, or None (``api_key``: the caller's key id, if any)."""
        ...

    async def store(
        self,
        feature: str,
        version_id: str,
        tenant: str,
        variables: dict[str, Any],
        output_text: str | None,
        output_json: Any,
        trace_id: str,
        *,
        api_key: str | None = None,
    ) -> None:
        """Keep a successful answer (never called for errors), as the caller's key's own unless shared."""
        ...
