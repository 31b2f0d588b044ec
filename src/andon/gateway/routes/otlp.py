"""OTLP/HTTP traces in: ``POST /v1/otlp/v1/traces`` (JSON) turns GenAI spans from other frameworks into traces."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from andon.agents.otlp import OtlpError, ingest_otlp
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import ApiError, json_problem
from andon.gateway.reload import workspace_of
from andon.messages import t

router = APIRouter(tags=["otlp"])


_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["resourceSpans"],
                "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
                "description": "An OTLP ExportTraceServiceRequest in its JSON encoding.",
            }
        }
    },
}


@router.post(
    "/v1/otlp/v1/traces",
    summary="OTLP/HTTP JSON trace export (OpenTelemetry GenAI spans)",
    openapi_extra={"requestBody": _BODY},
    responses={
        415: {
            "description": "A protobuf body: send OTLP/HTTP JSON.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    },
)
async def otlp_traces(request: Request, identity: Annotated[Identity, Depends(require("invoke"))]) -> dict[str, Any]:
    """Store the spans of an ``ExportTraceServiceRequest``; each new OTLP trace becomes an andon trace."""
    if "protobuf" in request.headers.get("content-type", ""):
        raise ApiError("unsupported_media_type", t("agents.otlp.protobuf"), hint=t("agents.otlp.json_hint"))
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise ApiError(
            "invalid_request", t("agents.otlp.not_json", error=exc), hint=t("agents.otlp.json_hint")
        ) from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", t("agents.otlp.no_resource_spans"), hint=t("agents.otlp.json_hint"))
    problem = json_problem(body)  # NUL, too deep: what no store keeps
    if problem:
        raise ApiError("invalid_request", t("house3.http.unprocessable", problem=problem))
    store = workspace_of(request).store
    try:
        parsed = ingest_otlp(body)
    except OtlpError as exc:
        raise ApiError("invalid_request", exc.message, hint=exc.hint) from None
    known_traces, known_spans = await asyncio.to_thread(
        store.known_trace_and_span_ids, [tr.id for tr in parsed.traces], [s.id for s in parsed.spans]
    )
    traces = [tr for tr in parsed.traces if tr.id not in known_traces]
    spans = [s for s in parsed.spans if s.id not in known_spans]
    await asyncio.to_thread(store.save_traces, traces, spans=spans)
    return {"partialSuccess": {}}  # OTLP's answer when everything was accepted
