"""Plain records that cross the store boundary (no ORM objects leak out).

Records the store takes in (traces, review items) live here too, so the store imports nothing above it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from andon.store.models import utcnow

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
    """One evaluation run: what was run (versions, dataset, repeats), how it ended, and its recorded settings.

    It is also a report's header, where ``case_slice`` (e.g. ``--tag hard --limit 10``) describes
    ``config["slice"]`` and ``config`` itself is left out (the summaries show what the settings gave).
    """

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
    n_cases: int
    note: str | None = None
    case_slice: str | None = None  # when the run took part of its dataset
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TraceRecord:
    """One gateway trace as stored (mirrors the ``traces`` table)."""

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


@dataclass(slots=True)
class ReviewItem:
    """One item of the review queue; mirrors the ``review_items`` table field by field."""

    id: str
    feature: str
    reason: str  # stopped | low_confidence | policy | shadow | fallback | guard
    trace_id: str | None = None
    version_id: str | None = None
    status: str = "pending"  # pending | decided
    input: Any = None  # the case variables as stored by the feature's data-use setting
    suggestion_text: str | None = None  # what the AI answered (None when it was not asked)
    suggestion_json: Any = None
    decision: Any = None
    label: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    exported_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    priority: int = 0  # higher first in the pending queue (a guard's route: 100 by default)

    @classmethod
    def new(cls, feature: str, reason: str, **values: Any) -> ReviewItem:
        """A pending item with a fresh ``rev_…`` id."""
        return cls(id=new_id("rev"), feature=feature, reason=reason, **values)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReviewItem:
        """Build from the store's column dict."""
        return cls(**row)

    def to_json(self) -> dict[str, Any]:
        """JSON form for --json output and the HTTP API."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            out[spec.name] = value.isoformat() if isinstance(value, datetime) else value
        return out


# --- webruns ---


@dataclass(frozen=True, slots=True)
class CellQuery:
    """Which cells of a run to read: filters (all optional) and a keyset page (``after``/``before`` a cell id)."""

    version_id: str | None = None
    failed: bool = False  # only cells that did not pass (failed grades and failed calls)
    label: str | None = None  # the expected label
    tag: str | None = None  # a tag of the cell's case
    after: int | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class CellPage:
    """One page of cells (field dicts, as ``iter_run_results`` gives) and the cursors of its neighbours."""

    cells: list[dict[str, Any]]
    before: int | None  # pass as ``before`` for the previous page; None on the first
    after: int | None  # pass as ``after`` for the next page; None on the last


# --- end webruns ---
