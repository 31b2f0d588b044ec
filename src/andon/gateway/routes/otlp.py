"""OTLP/HTTP traces in: ``POST /v1/otlp/v1/traces`` (protobuf or JSON, gzip or not) turns GenAI spans from other
frameworks into traces."""

from __future__ import annotations

import asyncio
import json
import weakref
import zlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from andon.agents.otlp import Ingested, OtlpError, ingest_otlp, ingest_otlp_protobuf
from andon.errors import StoreError
from andon.gateway.auth import Identity, require
from andon.gateway.http_errors import ApiError, json_problem
from andon.gateway.jsonlimits import MAX_JSON_DEPTH, nesting_depth
from andon.gateway.reload import workspace_of
from andon.messages import t
from andon.store import Store

router = APIRouter(tags=["otlp"])

PROTOBUF = "application/x-protobuf"
_PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")

_BODY = {
    "required": True,
    "content": {
        PROTOBUF: {
            "schema": {"type": "string", "format": "binary"},
            "description": "An OTLP ExportTraceServiceRequest, protobuf-encoded (OTLP/HTTP's default).",
        },
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["resourceSpans"],
                "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
                "description": "An OTLP ExportTraceServiceRequest in its JSON encoding.",
            }
        },
    },
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding, refused past ``limit`` bytes (a small gzip can hold gigabytes)."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise ApiError("unsupported_media_type", t("agents.otlp14.encoding", encoding=encoding))
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ApiError("invalid_request", t("agents.otlp14.bad_gzip", encoding=encoding, error=exc)) from None
    if len(data) > limit:
        raise ApiError("payload_too_large", t("agents.otlp14.inflated_too_large", limit=limit))
    return data


def _parse_json(data: bytes) -> Ingested:
    if nesting_depth(data, stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:  # a gzip body is measured only here
        raise ApiError("invalid_request", t("http.body.too_deep", limit=MAX_JSON_DEPTH))
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ApiError("invalid_request", t("agents.otlp.not_json", error=exc), hint=t("agents.otlp14.hint")) from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", t("agents.otlp.no_resource_spans"), hint=t("agents.otlp14.hint"))
    problem = json_problem(body)  # NUL, too deep: what no store keeps
    if problem:
        raise ApiError("invalid_request", t("house3.http.unprocessable", problem=problem))
    return ingest_otlp(body)


def _parse(data: bytes, protobuf: bool) -> Ingested:
    try:
        return ingest_otlp_protobuf(data) if protobuf else _parse_json(data)
    except OtlpError as exc:
        raise ApiError("invalid_request", exc.message, hint=exc.hint) from None


class GroupCommit:
    """Requests that arrive while a commit runs share the next one, as the trace writer does for calls.

    A commit costs more than the rows in it on a durable store (1-2 ms), and exporters send small batches
    at once; an answer still waits for the commit holding its spans. No task outlives the work: the drain
    task ends when nothing is pending.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[Ingested, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.commits = 0

    async def write(self, parsed: Ingested) -> None:
        """Wait until the spans and traces of ``parsed`` are committed (raise what the store raised)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((parsed, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="andon-otlp-ingest")
        await asyncio.shield(future)  # a client gone does not cancel what others' answers wait for

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._commit([parsed for parsed, _ in batch])
            except StoreError as exc:  # the store is down: every request of the batch fails alike
                _settle(batch, exc)
            except Exception:  # a row the database refuses: each request alone, so only its sender fails
                for item in batch:
                    try:
                        await self._commit([item[0]])
                    except Exception as exc:
                        _settle([item], exc)
                    else:
                        _settle([item], None)
            else:
                _settle(batch, None)

    async def _commit(self, batch: list[Ingested]) -> None:
        traces = [tr for parsed in batch for tr in parsed.traces]
        spans = [s for parsed in batch for s in parsed.spans]
        await asyncio.to_thread(self._store.ingest_spans, traces, spans)
        self.commits += 1


def _settle(batch: list[tuple[Ingested, asyncio.Future[None]]], error: BaseException | None) -> None:
    for _, future in batch:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


_GROUPS: weakref.WeakKeyDictionary[Store, GroupCommit] = weakref.WeakKeyDictionary()


def group_commit(store: Store) -> GroupCommit:
    """The group commit of ``store`` (one per store, so a reloaded config's store gets its own)."""
    group = _GROUPS.get(store)
    if group is None:
        group = _GROUPS[store] = GroupCommit(store)
    return group


@router.post(
    "/v1/otlp/v1/traces",
    summary="OTLP/HTTP trace export, protobuf or JSON (OpenTelemetry GenAI spans)",
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {
            "description": "Stored; `partialSuccess` counts the spans that could not be read.",
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": {"partialSuccess": {"type": "object"}}}
                },
                PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        415: {"description": "A body neither protobuf nor JSON, or compressed other than by gzip.", "content": _ERROR},
    },
)
async def otlp_traces(request: Request, identity: Annotated[Identity, Depends(require("invoke"))]) -> Response:
    """Store the spans of an ``ExportTraceServiceRequest``; each new OTLP trace becomes an andon trace.

    Spans that cannot be read are counted in the answer's partial success (the others are stored); a body
    where none can be read is a 400. A protobuf request gets a protobuf answer, as OTLP/HTTP asks.
    """
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    protobuf = content_type in _PROTOBUF_TYPES
    if not protobuf and "json" not in content_type:
        raise ApiError("unsupported_media_type", t("agents.otlp14.media_type", given=content_type))
    ws = workspace_of(request)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    data = _inflate(await request.body(), encoding, ws.config.gateway.max_request_bytes)
    parsed = await asyncio.to_thread(_parse, data, protobuf)  # off the event loop: decoding is real work
    await group_commit(ws.store).write(parsed)
    message = parsed.first_error.message if parsed.first_error is not None else ""
    if protobuf:
        from andon.agents.otlp_proto import response_bytes

        return Response(response_bytes(parsed.rejected, message), media_type=PROTOBUF)
    partial = {"rejectedSpans": str(parsed.rejected), "errorMessage": message} if parsed.rejected else {}
    return JSONResponse({"partialSuccess": partial})  # OTLP's answer; empty when everything was accepted
