"""OTLP/HTTP protobuf ingest: the real OpenTelemetry SDK and its real OTLP/HTTP exporter against `andon serve`."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.agents.otlp import OtlpError, ingest_otlp, ingest_otlp_protobuf
from andon.gateway.auth import create_key
from andon.gateway.routes.otlp import GroupCommit
from andon.store import Store

pytestmark = pytest.mark.timeout(300)
ROUTE = "/v1/otlp/v1/traces"


def run_agent(provider: TracerProvider) -> str:
    """An agent run as an instrumented framework makes it (root agent, a chat, a failing tool); its trace id."""
    tracer = provider.get_tracer("test-framework")
    with tracer.start_as_current_span("invoke_agent refunds") as root:
        root.set_attributes(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "refunds", "gen_ai.conversation.id": "c-9"}
        )
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.usage.input_tokens": 321,
                    "gen_ai.usage.output_tokens": 45,
                    "gen_ai.response.finish_reasons": ["tool_calls"],
                }
            )
        with tracer.start_as_current_span("execute_tool refund") as tool:
            tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund"})
            tool.set_status(Status(StatusCode.ERROR, "payment service down"))
        return format(root.get_span_context().trace_id, "032x")


def finished_spans() -> tuple[tuple[ReadableSpan, ...], str]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "market-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_hex = run_agent(provider)
    provider.shutdown()
    return exporter.get_finished_spans(), trace_hex


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[tuple[str, str, str]]:
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "otel", ["invoke"], None)
    ws = write_workspace(tmp_path / "ws")
    with GatewayServer(ws, database_url=database_url) as server:
        yield server.base_url, secret, database_url


def test_the_sdk_exporter_sends_protobuf_that_becomes_a_trace(gateway: tuple[str, str, str]) -> None:
    base, secret, url = gateway
    exporter = OTLPSpanExporter(
        endpoint=base + ROUTE, headers={"authorization": f"Bearer {secret}"}, compression=Compression.Gzip, timeout=30
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "market-bot"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))  # how a framework's exporter is set up
    trace_hex = run_agent(provider)
    assert provider.force_flush(30_000)
    spans, _ = finished_spans()
    assert exporter.export(spans) == SpanExportResult.SUCCESS  # the real exporter read andon's protobuf answer
    refused = OTLPSpanExporter(endpoint=base + ROUTE, headers={"authorization": "Bearer nope"}, timeout=30)
    assert refused.export(spans) == SpanExportResult.FAILURE
    provider.shutdown()
    with Store.open(url) as store:
        trace = store.get_trace(f"otlp-{trace_hex}")
        stored = {s.kind: s for s in store.list_spans(f"otlp-{trace_hex}")}
    assert (trace["feature"], trace["session_id"], trace["status"]) == ("otlp:refunds", "c-9", "error")
    assert (trace["input_tokens"], trace["output_tokens"], trace["model"]) == (321, 45, "gpt-4o-mini")
    assert trace["tags"] == {"source": "otlp", "service": "market-bot"}
    assert sorted(stored) == ["agent", "model", "tool"]
    chat = stored["model"].attributes
    assert chat["gen_ai.request.temperature"] == 0.2 and chat["gen_ai.usage.input_tokens"] == 321
    assert chat["gen_ai.response.finish_reasons"] == ["tool_calls"] and chat["gen_ai.provider.name"] == "openai"
    assert stored["tool"].error == "payment service down" and stored["tool"].parent_id == stored["agent"].id


def test_bodies_it_cannot_read_are_refused_or_partly_accepted(gateway: tuple[str, str, str]) -> None:
    base, secret, _url = gateway
    spans, _ = finished_spans()
    request = encode_spans(spans)
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01\x02"  # one span's id is too short
    protobuf = {"authorization": f"Bearer {secret}", "content-type": "application/x-protobuf"}
    with httpx.Client(base_url=base, timeout=60) as http:
        partial = http.post(ROUTE, content=request.SerializeToString(), headers=protobuf)
        assert partial.status_code == 200 and partial.headers["content-type"] == "application/x-protobuf"
        answer = ExportTraceServiceResponse.FromString(partial.content)
        assert answer.partial_success.rejected_spans == 1
        assert "spans[0].traceId" in answer.partial_success.error_message
        as_json = MessageToDict(request)
        json_partial = http.post(ROUTE, json=as_json, headers={"authorization": f"Bearer {secret}"})
        assert json_partial.json()["partialSuccess"]["rejectedSpans"] == "1"
        # The workspace's gateway.max_request_bytes is 64 KiB: a 1 MiB body gzipped to 1 KiB is refused.
        bomb = http.post(
            ROUTE, content=gzip.compress(b"\x00" * 2**20), headers={**protobuf, "content-encoding": "gzip"}
        )
        assert bomb.status_code == 413 and "decompressed" in bomb.json()["error"]["message"]
        broken = http.post(ROUTE, content=b"not gzip", headers={**protobuf, "content-encoding": "gzip"})
        assert broken.status_code == 400 and "gzip" in broken.json()["error"]["message"]
        brotli = http.post(ROUTE, content=b"x", headers={**protobuf, "content-encoding": "br"})
        assert brotli.status_code == 415 and "'br'" in brotli.json()["error"]["message"]
        zipped_json = {
            "authorization": f"Bearer {secret}",
            "content-type": "application/json",
            "content-encoding": "gzip",
        }
        whole = MessageToDict(encode_spans(spans))
        unzipped = http.post(ROUTE, content=gzip.compress(json.dumps(whole).encode()), headers=zipped_json)
        assert unzipped.status_code == 200 and unzipped.json() == {"partialSuccess": {}}
        deep = gzip.compress(b'{"resourceSpans": ' + b"[" * 200 + b"]" * 200 + b"}")
        too_deep = http.post(ROUTE, content=deep, headers=zipped_json)  # measured after inflating
        assert too_deep.status_code == 400 and "64" in too_deep.json()["error"]["message"]
        garbage = http.post(ROUTE, content=b"\xff\xff\xff", headers=protobuf)
        assert garbage.status_code == 400
        error = garbage.json()["error"]
        assert "not a protobuf OTLP" in error["message"] and "application/x-protobuf" in error["hint"]


def test_a_protobuf_body_none_of_whose_spans_can_be_read_names_the_first_field() -> None:
    spans, _ = finished_spans()
    request = encode_spans(spans)
    for span in request.resource_spans[0].scope_spans[0].spans:
        span.span_id = b""
    with pytest.raises(OtlpError, match=r"spans\[0\]\.spanId"):
        ingest_otlp_protobuf(request.SerializeToString())


def _comparable(ingested: Any) -> tuple[list[Any], list[Any]]:
    return sorted(ingested.traces, key=lambda r: r.id), sorted(ingested.spans, key=lambda r: r.id)


# NUL is left out: the JSON route refuses it (json_problem), the protobuf reader makes it U+FFFD (tested apart).
texts = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20)
scalars = st.one_of(
    texts,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.one_of(
    scalars,
    st.lists(texts, max_size=3),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=3),
)


@settings(max_examples=60, deadline=None)
@given(attributes=st.dictionaries(texts.filter(bool), values, max_size=6), name=texts)
def test_protobuf_and_json_encodings_of_the_same_spans_give_the_same_records(
    attributes: dict[str, Any], name: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "prop"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span(name or "x") as root:
        root.set_attributes({"gen_ai.operation.name": "chat", **attributes})
        with provider.get_tracer("t").start_as_current_span("child"):
            pass
    provider.shutdown()
    request = encode_spans(exporter.get_finished_spans())
    from_protobuf = ingest_otlp_protobuf(request.SerializeToString())
    from_json = ingest_otlp(MessageToDict(request))
    assert _comparable(from_protobuf) == _comparable(from_json)
    assert len(from_protobuf.spans) == 2 and len(from_protobuf.traces) == 1
    stored = next(s for s in from_protobuf.spans if s.parent_id is None).attributes
    for key, value in attributes.items():
        if key != "gen_ai.operation.name":
            assert stored[key] == value


def test_nul_in_a_protobuf_span_is_made_storable() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("a\x00b") as span:
        span.set_attributes({"k\x00": "v\x00", "n": float("nan")})
    provider.shutdown()
    (record,) = ingest_otlp_protobuf(encode_spans(exporter.get_finished_spans()).SerializeToString()).spans
    assert record.name == "a\ufffdb" and record.attributes == {"k\ufffd": "v\ufffd", "n": "nan"}


async def test_requests_at_once_share_commits_and_a_refused_row_fails_only_its_request(tmp_path: Path) -> None:
    requests = []
    for _ in range(6):
        spans, trace_hex = finished_spans()
        requests.append((ingest_otlp_protobuf(encode_spans(spans).SerializeToString()), trace_hex))
    broken = dataclasses.replace(requests[2][0].spans[0], kind=None)  # type: ignore[arg-type]  # NOT NULL
    requests[2][0].spans[0] = broken
    with Store.open(f"sqlite:///{tmp_path / 'group.db'}") as store:
        group = GroupCommit(store)
        await asyncio.gather(*(group.write(parsed) for parsed, _ in requests[3:]))
        assert group.commits == 1  # three requests at once, one transaction
        results = await asyncio.gather(*(group.write(parsed) for parsed, _ in requests[:3]), return_exceptions=True)
        assert [r is None for r in results] == [True, True, False]
        for index, (_parsed, trace_hex) in enumerate(requests):
            stored = store.list_spans(f"otlp-{trace_hex}")
            assert len(stored) == (0 if index == 2 else 3)
