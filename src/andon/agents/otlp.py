"""OTLP/HTTP traces in (protobuf or JSON): GenAI spans from other frameworks become andon traces and spans (issue 14).

One OTLP trace id becomes one andon trace ``otlp-<trace id>`` (feature: the root's ``gen_ai.agent.name``, else
the resource's ``service.name``), with tokens summed over its spans and the session from
``gen_ai.conversation.id``; each span is kept with its attributes as sent. JSON ids may be hex (the OTLP JSON
encoding) or base64 (protobuf's generic JSON mapping); protobuf bodies are read by :mod:`andon.agents.otlp_proto`.
A span that cannot be read is counted (OTLP's partial success) and the others kept; if none can, the first
reason is raised.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from andon.agents.spans import (
    AGENT_NAME,
    CHAT,
    CONVERSATION_ID,
    EXECUTE_TOOL,
    INPUT_TOKENS,
    INVOKE_AGENT,
    OPERATION,
    OUTPUT_TOKENS,
    PROVIDER,
    REQUEST_MODEL,
    RESPONSE_MODEL,
)
from andon.errors import AndonError
from andon.messages import t
from andon.store.records import TraceRecord
from andon.store.spans import SpanRecord

TRACE_PREFIX = "otlp-"
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_MODEL_OPERATIONS = {CHAT, "text_completion", "generate_content", "embeddings"}
_STATUS_ERROR = 2  # OTLP's STATUS_CODE_ERROR
OTLP_FEATURE_PREFIX = "otlp:"  # features of ingested traces, apart from andon.yaml's


class OtlpError(AndonError):
    """An OTLP body andon cannot read; the message names the field."""


@dataclass(slots=True)
class Ingested:
    """What one OTLP request becomes: new traces and their spans."""

    traces: list[TraceRecord] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    rejected: int = 0  # spans that could not be read (OTLP's partial success reports them)
    first_error: OtlpError | None = None


def _id(value: Any, size: int, where: str) -> str:
    """An OTLP trace or span id as lower-case hex (``size`` bytes); empty means none."""
    text = str(value or "")
    if not text:
        return ""
    if len(text) == size * 2 and _HEX.match(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise OtlpError(t("agents.otlp.bad_id", where=where, size=size))
    return raw.hex()


def _value(value: Any) -> Any:
    """An OTLP AnyValue as plain JSON (anything else is None)."""
    if not isinstance(value, Mapping):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        return _int(value["intValue"])  # int64 travels as a string in JSON
    if isinstance(value.get("arrayValue"), Mapping):
        values = value["arrayValue"].get("values")
        return [_value(v) for v in values] if isinstance(values, list) else []
    if isinstance(value.get("kvlistValue"), Mapping):
        return _attributes(value["kvlistValue"].get("values"))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {str(i["key"]): _value(i.get("value")) for i in items if isinstance(i, Mapping) and "key" in i}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _time(nanos: Any, where: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(nanos) / 1e9, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise OtlpError(t("agents.otlp.bad_time", where=where)) from None


def _kind(attributes: Mapping[str, Any]) -> str:
    operation = attributes.get(OPERATION)
    if operation in _MODEL_OPERATIONS:
        return "model"
    if operation == EXECUTE_TOOL:
        return "tool"
    if operation in (INVOKE_AGENT, "create_agent"):
        return "agent"
    return "span"


@dataclass(slots=True)
class _Raw:
    """One span as either encoding gives it, before it becomes a :class:`SpanRecord`."""

    trace: Any
    span: Any
    parent: Any
    name: str
    start: Any
    end: Any
    attributes: dict[str, Any]
    failed: bool
    message: str
    service: str


def _json_spans(body: Mapping[str, Any]) -> list[_Raw]:
    """Every span of a JSON body with its resource's ``service.name``."""
    resources = body.get("resourceSpans")
    if not isinstance(resources, list):
        raise OtlpError(t("agents.otlp.no_resource_spans"), hint=t("agents.otlp.json_hint"))
    out = []
    for resource in resources:
        if not isinstance(resource, Mapping):
            continue
        described = resource.get("resource")
        attrs = _attributes(described.get("attributes")) if isinstance(described, Mapping) else {}
        service = str(attrs.get("service.name") or "unknown")
        scopes = resource.get("scopeSpans")
        for scope in scopes if isinstance(scopes, list) else []:
            spans = scope.get("spans") if isinstance(scope, Mapping) else None
            for span in spans if isinstance(spans, list) else []:
                if not isinstance(span, Mapping):
                    continue
                given = span.get("status")
                status: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
                out.append(
                    _Raw(
                        trace=span.get("traceId"),
                        span=span.get("spanId"),
                        parent=span.get("parentSpanId"),
                        name=str(span.get("name") or ""),
                        start=span.get("startTimeUnixNano"),
                        end=span.get("endTimeUnixNano") or span.get("startTimeUnixNano"),
                        attributes=_attributes(span.get("attributes")),
                        failed=status.get("code") in (_STATUS_ERROR, "STATUS_CODE_ERROR"),
                        message=str(status.get("message") or ""),
                        service=service,
                    )
                )
    return out


def ingest_otlp(body: Mapping[str, Any], known_traces: set[str] | None = None) -> Ingested:
    """Read an OTLP JSON ``ExportTraceServiceRequest``; traces already stored (``known_traces``) get only spans."""
    return _ingest(_json_spans(body), known_traces)


def ingest_otlp_protobuf(data: bytes, known_traces: set[str] | None = None) -> Ingested:
    """Read a protobuf-encoded ``ExportTraceServiceRequest`` (OTLP/HTTP's default encoding)."""
    from andon.agents.otlp_proto import DECODE_ERRORS, protobuf_spans  # protobuf loads with the first such body

    try:
        raws = [_Raw(*fields) for fields in protobuf_spans(data)]
    except DECODE_ERRORS as exc:
        error = str(exc) or type(exc).__name__
        raise OtlpError(t("agents.otlp14.bad_protobuf", error=error), hint=t("agents.otlp14.protobuf_hint")) from None
    return _ingest(raws, known_traces)


def _ingest(raws: list[_Raw], known_traces: set[str] | None) -> Ingested:
    """The spans that can be read become records and traces; the others are counted, the first error kept."""
    result = Ingested()
    by_trace: dict[str, list[SpanRecord]] = {}
    services: dict[str, str] = {}
    for index, raw in enumerate(raws):
        try:
            record = _record(raw, f"spans[{index}]")
        except OtlpError as exc:
            result.rejected += 1
            result.first_error = result.first_error or exc
            continue
        spans = by_trace.get(record.trace_id)
        if spans is None:
            spans = by_trace[record.trace_id] = []
            services[record.trace_id] = raw.service
        spans.append(record)
        result.spans.append(record)
    if result.first_error is not None and not result.spans:
        raise result.first_error  # nothing could be read: the request is refused with the first reason
    for trace_id, spans in by_trace.items():
        if known_traces is not None and trace_id in known_traces:
            continue
        result.traces.append(_trace(trace_id, spans, services[trace_id]))
    return result


def _record(raw: _Raw, where: str) -> SpanRecord:
    trace_hex = _id(raw.trace, 16, f"{where}.traceId")
    span_hex = _id(raw.span, 8, f"{where}.spanId")
    if not trace_hex or not span_hex:
        raise OtlpError(t("agents.otlp.bad_id", where=where + (".spanId" if trace_hex else ".traceId"), size=16))
    parent_hex = _id(raw.parent, 8, f"{where}.parentSpanId")
    attributes = raw.attributes
    started = _time(raw.start, f"{where}.startTimeUnixNano")
    finished = _time(raw.end, f"{where}.endTimeUnixNano")
    name = raw.name if "\x00" not in raw.name else raw.name.replace("\x00", "\ufffd")  # PostgreSQL text
    message = raw.message.replace("\x00", "\ufffd")
    return SpanRecord(
        id=f"{trace_hex}:{span_hex}",
        trace_id=TRACE_PREFIX + trace_hex,
        parent_id=f"{trace_hex}:{parent_hex}" if parent_hex else None,
        kind=_kind(attributes),
        name=name[:400],
        status="error" if raw.failed else "ok",
        started_at=started,
        finished_at=finished,
        duration_ms=max((finished - started).total_seconds() * 1000, 0.0),
        input_tokens=_int(attributes.get(INPUT_TOKENS)),
        output_tokens=_int(attributes.get(OUTPUT_TOKENS)),
        error=(message or None) if raw.failed else None,
        attributes=attributes,
    )


def _trace(trace_id: str, spans: list[SpanRecord], service: str) -> TraceRecord:
    ids = {s.id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids] or spans
    root = min(roots, key=lambda s: s.started_at)
    models = [s for s in spans if s.kind == "model"]
    agent = next((s.attributes[AGENT_NAME] for s in [root, *spans] if s.attributes.get(AGENT_NAME)), service)
    session = next((s.attributes[CONVERSATION_ID] for s in spans if s.attributes.get(CONVERSATION_ID)), None)
    first_model = min(models, key=lambda s: s.started_at) if models else None
    failed = [s for s in spans if s.status == "error"]
    started = min(s.started_at for s in spans)
    finished = max(s.finished_at for s in spans)
    return TraceRecord(
        id=trace_id,
        feature=OTLP_FEATURE_PREFIX + str(agent)[:195],
        route="ai",
        status="error" if failed else "ok",
        input_mode="hash",  # the other framework keeps its inputs; andon stores what it was told
        input=None,
        input_hash=hashlib.sha256(trace_id.encode("ascii")).hexdigest(),
        created_at=finished,
        error=failed[0].error if failed else None,
        error_code="otlp_span_error" if failed else None,
        provider=str(first_model.attributes.get(PROVIDER))
        if first_model and PROVIDER in first_model.attributes
        else None,
        model=(
            str(first_model.attributes.get(RESPONSE_MODEL) or first_model.attributes.get(REQUEST_MODEL))
            if first_model
            else None
        ),
        input_tokens=sum(s.input_tokens for s in models),
        output_tokens=sum(s.output_tokens for s in models),
        latency_ms=(finished - started).total_seconds() * 1000,
        session_id=str(session)[:200] if session else None,
        tags={"source": "otlp", "service": service},
    )
