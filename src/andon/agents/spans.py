"""A trace's spans from its provenance: the call, then each model call, rule, guard, tool call, agent turn, handoff.

Attribute names follow OpenTelemetry's GenAI semantic conventions (``gen_ai.*``, ``error.type``); andon's own
facts go under ``andon.*``. Message contents never become attributes: the provenance keeps them, under the
feature's data-use setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from andon.store.records import OutputRecord, TraceRecord, new_id
from andon.store.spans import SpanRecord

# OpenTelemetry GenAI semantic conventions (gen-ai-spans, gen-ai-agent-spans).
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CONVERSATION_ID = "gen_ai.conversation.id"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
ERROR_TYPE = "error.type"
REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
}
CHAT, INVOKE_AGENT, EXECUTE_TOOL = "chat", "invoke_agent", "execute_tool"  # gen_ai.operation.name values
HANDOFF = "handoff"  # andon's own operation: GenAI conventions name none for a handoff (yet)


def _when(value: Any, default: datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return default


def _step_kind(step: dict[str, Any]) -> str:
    if step.get("guard") is not None:
        return "guard"
    return "rule" if step.get("provider") == "python" else "model"


def _step_span(step: dict[str, Any], trace: TraceRecord, parent: str, default: datetime) -> SpanRecord:
    kind = _step_kind(step)
    started = _when(step.get("started_at"), default)
    finished = _when(step.get("finished_at"), started)
    attributes: dict[str, Any] = {"andon.step": step.get("name")}
    if kind == "model":
        name = f"{CHAT} {step.get('model', '')}".strip()
        attributes |= {OPERATION: CHAT, PROVIDER: step.get("provider"), REQUEST_MODEL: step.get("model")}
        attributes |= {INPUT_TOKENS: step.get("input_tokens", 0), OUTPUT_TOKENS: step.get("output_tokens", 0)}
        params = step.get("params") or {}
        attributes |= {key: params[p] for p, key in REQUEST_PARAMS.items() if params.get(p) is not None}
        if step.get("cached"):
            attributes["andon.cache_hit"] = True
    else:
        name = f"{kind} {step.get('model') or step.get('name')}"
    if trace.session_id:
        attributes[CONVERSATION_ID] = trace.session_id
    error = step.get("error")
    if error:
        attributes[ERROR_TYPE] = step.get("error_type") or "andon.step_error"
    return SpanRecord(
        id=new_id("spn"),
        trace_id=trace.id,
        parent_id=parent,
        kind=kind,
        name=name,
        status="error" if error else "ok",
        started_at=started,
        finished_at=finished,
        duration_ms=max((finished - started).total_seconds() * 1000, 0.0),
        input_tokens=int(step.get("input_tokens") or 0),
        output_tokens=int(step.get("output_tokens") or 0),
        cost=step.get("cost"),
        currency=step.get("currency"),
        error=error,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def trace_spans(trace: TraceRecord, outputs: Sequence[OutputRecord]) -> list[SpanRecord]:
    """The spans of one stored trace: a root span for the call, a child for every step of every attempt."""
    finished = trace.created_at
    started = finished - timedelta(milliseconds=max(trace.latency_ms, 0.0))
    root_attributes: dict[str, Any] = {OPERATION: INVOKE_AGENT, AGENT_NAME: trace.feature, "andon.route": trace.route}
    if trace.version_id:
        root_attributes[AGENT_ID] = trace.version_id
    if trace.session_id:
        root_attributes[CONVERSATION_ID] = trace.session_id
    if trace.status == "error":
        root_attributes[ERROR_TYPE] = trace.error_code or "andon.error"
    root = SpanRecord(
        id=new_id("spn"),
        trace_id=trace.id,
        parent_id=None,
        kind="call",
        name=f"{INVOKE_AGENT} {trace.feature}",
        status="error" if trace.status == "error" else "ok",
        started_at=started,
        finished_at=finished,
        duration_ms=max(trace.latency_ms, 0.0),
        input_tokens=trace.input_tokens,
        output_tokens=trace.output_tokens,
        cost=trace.cost,
        currency=trace.currency,
        error=trace.error,
        attributes=root_attributes,
    )
    spans = [root]
    for output in outputs:
        for step in output.steps:
            under = root.id
            if step.get("agent"):  # a flow's turn: invoke_agent, holding the model call and its handoff
                agent = _agent_span(step, trace, root.id, output.started_at)
                spans.append(agent)
                under = agent.id
                if isinstance(step.get("handoff"), dict):
                    spans.append(_handoff_span(step["handoff"], trace, agent))
            parent = _step_span(step, trace, under, output.started_at)
            spans.append(parent)
            for call in step.get("tools") or []:  # a step's tool calls run under its model call
                if isinstance(call.get("approval"), dict):  # a person decided the call first (engine.approval)
                    spans.append(_approval_span(call, trace, parent))
                spans.append(_tool_span(call, trace, parent))
    return spans


def _child(trace: TraceRecord, parent: str, kind: str, name: str, times: tuple[datetime, datetime],
           attributes: dict[str, Any], error: str | None = None) -> SpanRecord:  # fmt: skip
    """A span under ``parent``: the conversation id added, attributes without a value dropped, failed on ``error``."""
    started, finished = times
    if trace.session_id:
        attributes[CONVERSATION_ID] = trace.session_id
    return SpanRecord(
        id=new_id("spn"),
        trace_id=trace.id,
        parent_id=parent,
        kind=kind,
        name=name,
        status="error" if error else "ok",
        started_at=started,
        finished_at=finished,
        duration_ms=max((finished - started).total_seconds() * 1000, 0.0),
        error=error,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def _agent_span(step: dict[str, Any], trace: TraceRecord, parent: str, default: datetime) -> SpanRecord:
    started = _when(step.get("started_at"), default)
    finished = _when(step.get("finished_at"), started)
    attributes: dict[str, Any] = {OPERATION: INVOKE_AGENT, AGENT_NAME: step["agent"]}
    attributes |= {"andon.output_kind": step.get("output_kind"), "andon.limit": step.get("limit")}
    error = step.get("error")
    if error:
        attributes[ERROR_TYPE] = f"andon.limit.{step['limit']}" if step.get("limit") else "andon.step_error"
    return _child(trace, parent, "agent", f"{INVOKE_AGENT} {step['agent']}", (started, finished), attributes, error)


def _handoff_span(handoff: dict[str, Any], trace: TraceRecord, parent: SpanRecord) -> SpanRecord:
    """The moment an agent handed the conversation over: at the end of its turn, no duration of its own."""
    attributes: dict[str, Any] = {OPERATION: HANDOFF, AGENT_NAME: handoff.get("from")}
    attributes |= {"andon.handoff.from": handoff.get("from"), "andon.handoff.to": handoff.get("to")}
    attributes["andon.handoff.reason"] = handoff.get("reason")
    name = f"{HANDOFF} {handoff.get('from')} -> {handoff.get('to')}"
    return _child(trace, parent.id, "handoff", name, (parent.finished_at, parent.finished_at), attributes)


def _approval_span(call: dict[str, Any], trace: TraceRecord, parent: SpanRecord) -> SpanRecord:
    """The wait for a person's decision on a tool call: from the call being parked to its decision."""
    approval = call["approval"]
    finished = _when(approval.get("decided_at"), _when(call.get("started_at"), parent.started_at))
    started = min(_when(approval.get("asked_at"), finished), finished)
    attributes: dict[str, Any] = {TOOL_NAME: call.get("name"), TOOL_CALL_ID: call.get("call_id")}
    attributes |= {"andon.approval.status": approval.get("status"), "andon.approval.by": approval.get("by")}
    error = approval.get("reason") if approval.get("status") == "rejected" else None
    if approval.get("status") == "rejected" and not error:
        error = "rejected"  # a rejection is a failed span even when no reason was kept
    name = f"approval {call.get('name', '')}"
    return _child(trace, parent.id, "approval", name, (started, finished), attributes, error)


def _tool_span(call: dict[str, Any], trace: TraceRecord, parent: SpanRecord) -> SpanRecord:
    started = _when(call.get("started_at"), parent.started_at)
    finished = _when(call.get("finished_at"), started)
    attributes: dict[str, Any] = {OPERATION: EXECUTE_TOOL, TOOL_NAME: call.get("name")}
    attributes[TOOL_CALL_ID] = call.get("call_id")
    if call.get("error"):
        attributes[ERROR_TYPE] = "andon.tool_error"
    name = f"{EXECUTE_TOOL} {call.get('name', '')}"
    return _child(trace, parent.id, "tool", name, (started, finished), attributes, call.get("error"))


def span_json(span: SpanRecord) -> dict[str, Any]:
    """A span as JSON (times in ISO 8601)."""
    data = dataclasses.asdict(span)
    data["started_at"], data["finished_at"] = span.started_at.isoformat(), span.finished_at.isoformat()
    return data


@dataclass(frozen=True, slots=True)
class SpanLine:
    """One line of a printed span tree: its depth and its span."""

    depth: int
    span: SpanRecord


def span_tree(spans: Sequence[SpanRecord]) -> list[SpanLine]:
    """Spans in tree order (each parent before its children, siblings by start); orphans and cycles become roots."""
    ids = {s.id for s in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    out: list[SpanLine] = []
    seen: set[str] = set()

    def walk(roots: Sequence[SpanRecord]) -> None:
        stack = [(0, s) for s in sorted(roots, key=lambda s: (s.started_at, s.id), reverse=True)]
        while stack:
            depth, span = stack.pop()
            if span.id in seen:  # a cycle in ingested data must not loop forever
                continue
            seen.add(span.id)
            out.append(SpanLine(depth, span))
            kids = sorted(children.get(span.id, []), key=lambda s: (s.started_at, s.id), reverse=True)
            stack.extend((depth + 1, kid) for kid in kids)

    walk(children.get(None, []))
    while len(seen) < len({s.id for s in spans}):  # spans only in a cycle: the earliest unseen one becomes a root
        walk([min((s for s in spans if s.id not in seen), key=lambda s: (s.started_at, s.id))])
    return out
