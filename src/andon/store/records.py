"""Plain records that cross the store boundary (no ORM objects leak out)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(prefix: str) -> str:
    """A sortable unique id such as ``out_01jd…``: 48-bit milliseconds + 80 random bits, base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """A stored version: immutable content addressed by ``id`` (sha256 of its canonical JSON)."""

    id: str
    feature: str
    name: str
    content: dict[str, Any]
    created_at: datetime


@dataclass(slots=True)
class OutputRecord:
    """One stored output with its provenance: the exact prompt, model and parameters that made it."""

    id: str
    feature: str
    version_id: str
    provider: str
    model: str
    params: dict[str, Any]
    messages: list[dict[str, Any]]
    status: str  # ok | error (a rule that ends the pipeline early is ok; see steps)
    started_at: datetime
    finished_at: datetime
    output_text: str | None = None
    output_json: Any = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    latency_ms: float = 0.0
    cached: bool = False
    raw: Any = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RunRecord:
    """One evaluation run: what was run (versions, dataset, repeats) and how it ended."""

    id: str
    feature: str
    status: str  # running | finished | interrupted | budget_exceeded | failed
    created_at: datetime
    finished_at: datetime | None
    dataset: str
    dataset_sha256: str
    repeats: int
    currency: str
    versions: list[tuple[str, str]]  # (name, id), in the order they were run
    config: dict[str, Any]
    n_cases: int
    note: str | None = None
