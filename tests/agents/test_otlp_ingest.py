"""OTLP/HTTP JSON ingest of GenAI spans made by the real OpenTelemetry SDK and encoded by its OTLP encoder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.agents.otlp import ingest_otlp
from andon.agents.spans import span_tree
from andon.gateway.auth import create_key
from andon.store import Store

pytestmark = pytest.mark.timeout(300)


def agent_run() -> tuple[dict[str, Any], str]:
    """One agent run as an instrumented framework would export it: OTLP JSON, and its trace id in hex."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test-framework")
    with tracer.start_as_current_span("invoke_agent triage") as root:
        root.set_attributes(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage", "gen_ai.conversation.id": "conv-7"}
        )
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.usage.input_tokens": 120,
                    "gen_ai.usage.output_tokens": 30,
                    "gen_ai.response.finish_reasons": ["tool_calls"],
                }
            )
        with tracer.start_as_current_span("execute_tool lookup_order") as tool:
            tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup_order"})
            tool.set_status(Status(StatusCode.ERROR, "order service down"))
        trace_hex = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return MessageToDict(encode_spans(exporter.get_finished_spans())), trace_hex


def test_sdk_spans_become_a_trace_with_its_tree() -> None:
    body, trace_hex = agent_run()
    ingested = ingest_otlp(body)
    (trace,) = ingested.traces
    assert trace.id == f"otlp-{trace_hex}" and trace.feature == "otlp:triage"
    assert (trace.input_tokens, trace.output_tokens, trace.model, trace.provider) == (120, 30, "gpt-4o", "openai")
    assert (trace.session_id, trace.status, trace.error) == ("conv-7", "error", "order service down")
    order = [(line.depth, line.span.name, line.span.kind) for line in span_tree(ingested.spans)]
    assert order == [
        (0, "invoke_agent triage", "agent"),
        (1, "chat gpt-4o", "model"),
        (1, "execute_tool lookup_order", "tool"),
    ]
    chat = (
        ingested.spans[0] if ingested.spans[0].kind == "model" else next(s for s in ingested.spans if s.kind == "model")
    )
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert chat.attributes["gen_ai.usage.input_tokens"] == 120  # int64 arrives as text; read back as a number


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[tuple[str, str, str]]:
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "otel", ["invoke"], None)
    ws = write_workspace(tmp_path / "ws")
    with GatewayServer(ws, database_url=database_url) as server:
        yield server.base_url, secret, database_url


def test_the_endpoint_stores_them_once_and_refuses_what_it_cannot_read(gateway: tuple[str, str, str]) -> None:
    base, secret, url = gateway
    body, trace_hex = agent_run()
    headers = {"authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        first = http.post("/v1/otlp/v1/traces", json=body)
        assert first.status_code == 200, first.text
        assert first.json() == {"partialSuccess": {}}
        assert http.post("/v1/otlp/v1/traces", json=body).status_code == 200  # an exporter's retry: stored once
        protobuf = http.post(  # a length past the end of the body: no protobuf decoder reads it
            "/v1/otlp/v1/traces", content=b"\x0a\x09ab", headers={"content-type": "application/x-protobuf"}
        )
        assert protobuf.status_code == 400 and "not a protobuf OTLP" in protobuf.json()["error"]["message"]
        xml = http.post("/v1/otlp/v1/traces", content=b"<a/>", headers={"content-type": "text/xml"})
        assert xml.status_code == 415 and "application/x-protobuf" in xml.json()["error"]["message"]
        broken = http.post(
            "/v1/otlp/v1/traces", json={"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz"}]}]}]}
        )
        assert broken.status_code == 400 and "spans[0].traceId" in broken.json()["error"]["message"]
        assert http.post("/v1/otlp/v1/traces", json=body, headers={"authorization": "Bearer nope"}).status_code == 401
    with Store.open(url) as store:
        trace = store.get_trace(f"otlp-{trace_hex}")
        spans = store.list_spans(f"otlp-{trace_hex}")
    assert (trace["feature"], trace["input_tokens"], trace["session_id"]) == ("otlp:triage", 120, "conv-7")
    assert sorted(s.kind for s in spans) == ["agent", "model", "tool"]
