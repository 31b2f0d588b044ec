"""Tables of issue 14: the spans of a trace (model calls, tool calls, handoffs), and the traces' session index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from andon.store.models import ID_LENGTH, Base, TraceRow, UTCDateTime, json_type

# The traces of one conversation, oldest first (migration 0021).
TRACE_SESSION_INDEX = "ix_traces_session_id_created_at"
Index(TRACE_SESSION_INDEX, TraceRow.session_id, TraceRow.created_at)


class SpanRow(Base):
    """One span of a trace: what ran, under which parent, when, at what cost, and how it ended."""

    __tablename__ = "spans"
    __table_args__ = (Index(None, "trace_id", "started_at"),)

    # Not a foreign key: OTLP-ingested spans may arrive before (or without) an andon trace of that id.
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    parent_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # call | model | tool | handoff | rule | guard
    name: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(20))  # ok | error
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(json_type())  # OpenTelemetry GenAI names
