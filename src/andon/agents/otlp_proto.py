"""OTLP protobuf bodies: an ``ExportTraceServiceRequest`` decoded with ``opentelemetry-proto`` into plain spans.

Read field by field from the decoded message (no detour through protobuf's JSON mapping, which costs more
than the whole store write); ids become hex, AnyValues plain JSON as in the JSON encoding.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_STATUS_ERROR = 2  # STATUS_CODE_ERROR

SpanFields = tuple[str, str, str, str, int, int, dict[str, Any], bool, str, str]


def _text(value: str) -> str:
    return value if "\x00" not in value else value.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL


def _value(value: Any) -> Any:
    """An AnyValue as plain JSON: what the JSON encoding gives, with NUL and non-finite numbers made storable."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _text(value.string_value)
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number)  # JSON (and PostgreSQL) have no NaN
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {_text(kv.key): _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")  # as the JSON encoding carries bytes
    return None


# What parsing a body that is no ExportTraceServiceRequest raises (RuntimeError: nesting past protobuf's limit).
DECODE_ERRORS = (DecodeError, ValueError, RuntimeError)


def protobuf_spans(data: bytes) -> list[SpanFields]:
    """Every span of a protobuf body as the fields :func:`andon.agents.otlp.ingest_otlp_protobuf` reads; a body
    that is none raises one of :data:`DECODE_ERRORS`."""
    out: list[SpanFields] = []
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    for resource in request.resource_spans:
        service = "unknown"
        for kv in resource.resource.attributes:
            if kv.key == "service.name":
                service = _text(str(_value(kv.value) or "unknown"))
        for scope in resource.scope_spans:
            for span in scope.spans:
                attributes = {_text(kv.key): _value(kv.value) for kv in span.attributes}
                start = span.start_time_unix_nano
                status = span.status
                out.append(
                    (
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        span.name,
                        start,
                        span.end_time_unix_nano or start,
                        attributes,
                        status.code == _STATUS_ERROR,
                        status.message,
                        service,
                    )
                )
    return out


def response_bytes(rejected: int = 0, message: str = "") -> bytes:
    """An encoded ``ExportTraceServiceResponse``: empty when all was accepted, else its partial success."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    return bytes(response.SerializeToString())
