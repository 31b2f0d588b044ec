"""Spans of traces (issue 14): stored with their trace, read back as a list the tree is built from."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from andon.store.records import TraceRecord

from andon.store._base import StoreBase
from andon.store.models import TraceRow
from andon.store.models_agents import SpanRow


@dataclass(slots=True)
class SpanRecord:
    """One span as stored (mirrors the ``spans`` table); ``attributes`` use OpenTelemetry GenAI names."""

    id: str
    trace_id: str
    parent_id: str | None
    kind: str
    name: str
    status: str
    started_at: datetime
    finished_at: datetime
    duration_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    currency: str | None = None
    error: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


SPAN_COLUMNS = tuple(f.name for f in dataclasses.fields(SpanRecord))
_TRACE_COLUMNS = tuple(c.name for c in TraceRow.__table__.columns)
_SPAN_TABLE: Table = SpanRow.__table__  # type: ignore[assignment]
_SPAN_INSERT = insert(_SPAN_TABLE)


def insert_spans(session: Session, spans: Sequence[SpanRecord]) -> None:
    """Insert spans inside the caller's transaction (so a trace and its spans commit together).

    A Core executemany on the session's connection: the ORM's bulk insert cost ~40 % of a lone trace's commit
    (its per-statement persistence bookkeeping), more than the inserts themselves."""
    if spans:
        rows = [{name: getattr(s, name) for name in SPAN_COLUMNS} for s in spans]
        session.connection().execute(_SPAN_INSERT, rows)


def delete_spans(session: Session, trace_ids: Sequence[str]) -> None:
    """Delete the spans of these traces inside the caller's transaction."""
    session.execute(delete(SpanRow).where(SpanRow.trace_id.in_(list(trace_ids))))


class SpansMixin(StoreBase):
    """Spans (methods of :class:`andon.store.Store`)."""

    def save_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store spans in one transaction."""
        with self._write() as session:
            insert_spans(session, spans)

    def ingest_spans(self, traces: Sequence[TraceRecord], spans: Sequence[SpanRecord]) -> None:
        """Store OTLP-ingested traces and spans in one transaction; ids stored already are skipped (an exporter's
        retry, or a trace sent in several batches), so no read comes before the write."""
        # No conflict target: on PostgreSQL the tables are partitioned by time (migration 0023) and unique on
        # (id, time), on SQLite on id; a retry carries the same times, so either way it is skipped.
        trace_insert = self._insert(TraceRow).on_conflict_do_nothing()
        span_insert = self._insert(SpanRow).on_conflict_do_nothing()
        with self._write() as session:
            connection = session.connection()
            if traces:
                connection.execute(
                    trace_insert, [{name: getattr(tr, name) for name in _TRACE_COLUMNS} for tr in traces]
                )
            if spans:
                connection.execute(span_insert, [{name: getattr(s, name) for name in SPAN_COLUMNS} for s in spans])

    def list_spans(self, trace_id: str) -> list[SpanRecord]:
        """A trace's spans, in start order."""
        query = select(SpanRow).where(SpanRow.trace_id == trace_id).order_by(SpanRow.started_at, SpanRow.id)
        with self._read() as session:
            return [SpanRecord(**{n: getattr(row, n) for n in SPAN_COLUMNS}) for row in session.scalars(query)]
