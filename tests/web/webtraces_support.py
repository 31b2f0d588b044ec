"""Traces for the Traces page's tests: plain ones in bulk, and one with its full provenance (prompt, output).

traces = make_traces(120, feature="menu", start=utcnow())
save(folder, traces)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from andon.store.records import OutputRecord, TraceRecord, new_id
from andon.workspace import Workspace

VERSION_ID = "ab" * 32
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def make_trace(created_at: datetime, **changes: Any) -> TraceRecord:
    """A stored-as-full ``menu`` trace at ``created_at``; ``changes`` set any other column."""
    values: dict[str, Any] = {
        "id": new_id("trc"),
        "feature": "menu",
        "route": "ai",
        "status": "ok",
        "input_mode": "full",
        "input": {"text": "김치찌개 8000원"},
        "input_hash": "0" * 64,
        "created_at": created_at,
        "version_id": VERSION_ID,
        "version_name": "v1",
        "output_text": "approve",
        "provider": "python",
        "model": "web_rules:review",
        "latency_ms": 12.5,
        "cost": 3.0,
        "currency": "KRW",
    }
    values.update(changes)
    return TraceRecord(**values)


def make_traces(n: int, *, start: datetime, step: timedelta = timedelta(seconds=1), ties: int = 1,
                **changes: Any) -> list[TraceRecord]:  # fmt: skip
    """``n`` traces going back from ``start``, ``ties`` of them sharing each timestamp (to test paging ties)."""
    return [make_trace(start - step * (i // ties), **changes) for i in range(n)]


def with_provenance(trace: TraceRecord, messages: list[dict[str, Any]], params: dict[str, Any]) -> tuple[
        TraceRecord, OutputRecord]:  # fmt: skip
    """The trace pointing at a new output record holding ``messages`` and ``params`` (its provenance)."""
    output = OutputRecord(
        id=new_id("out"),
        feature=trace.feature,
        version_id=trace.version_id or VERSION_ID,
        provider=trace.provider or "python",
        model=trace.model or "web_rules:review",
        params=params,
        messages=messages,
        status=trace.status,
        started_at=trace.created_at,
        finished_at=trace.created_at + timedelta(milliseconds=trace.latency_ms),
        output_text=trace.output_text,
        output_json=trace.output_json,
        latency_ms=trace.latency_ms,
        context={"version_name": trace.version_name or ""},
    )
    return replace(trace, output_id=output.id), output


def save(folder: Path, traces: Sequence[TraceRecord], outputs: Sequence[OutputRecord] = ()) -> None:
    """Store traces (and outputs) in the workspace at ``folder``."""
    with Workspace.open(folder) as ws:
        ws.store.save_traces(traces, outputs)
