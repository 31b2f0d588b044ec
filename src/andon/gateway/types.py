"""Value objects shared by the gateway's parts (service, HTTP face, cache); traces are ``store.records.TraceRecord``."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Route = Literal["ai", "human", "shadow", "fallback", "probe"]  # probe: a stopped feature's shadow probe, never served
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
    ai_generated: bool = False  # an AI made the answer: the HTTP face adds the marker and the notice
    ai_notice: dict[str, str] | None = None  # the notice per language, when ai_generated
    guard: dict[str, Any] | None = None  # what a guard did (action, checks, rules), when one acted


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

    def forget(self, entry_ids: Collection[int]) -> int:
        """Drop entries deleted from the store (a user's traces) from memory; how many were held."""
        ...
