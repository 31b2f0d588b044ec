"""One call in progress: everything gathered while serving it, turned into its result, trace and records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from andon.engine.pipeline import Outcome
from andon.gateway.redact import StoragePolicy
from andon.gateway.types import CachedAnswer, Caller, Route
from andon.versions.canonical import Version


@dataclass(slots=True)
class Call:
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
    ai_generated: bool = False  # the answer carries the AI notice (``gateway.disclosure``)
    split_tags: dict[str, str] = field(default_factory=dict)  # the rollout and arm that chose the version
    guard: dict[str, Any] | None = None  # the decision of the guard that acted (``gateway.guarding``)
    review_priority: int = 0  # the review item's priority (a guard's route puts it first)


def ms_since(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - started) * 1000
