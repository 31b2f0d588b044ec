"""OTLP export (gateway.otlp_endpoint): a loopback OTLP/HTTP receiver, the collector's stand-in, decodes what comes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pydantic import ValidationError
from tests.support.gateway_server import GatewayServer, free_port, promote_declared, write_workspace

from andon.agents.spans import trace_spans
from andon.config.schema import GatewayConfig
from andon.gateway.otlp_export import OtlpExporter, otlp_id
from andon.store.records import OutputRecord, TraceRecord

pytestmark = pytest.mark.timeout(300)


class Receiver:
    """An OTLP/HTTP traces receiver on loopback: decodes each request; ``status`` and ``delay_s`` set its answer."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []
        self.status = 200
        self.delay_s = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                time.sleep(owner.delay_s)
                owner.requests.append((dict(self.headers), ExportTraceServiceRequest.FromString(body)))
                self.send_response(owner.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self) -> list[Span]:
        return [s for _, r in self.requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def a_trace(n: int = 0) -> tuple[TraceRecord, list[OutputRecord]]:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC) + timedelta(seconds=n)
    trace = TraceRecord(
        id=f"trc_export{n}",
        feature="support",
        route="invoke",
        status="error",
        input_mode="hash",
        input=None,
        input_hash="h",
        created_at=now,
        latency_ms=250.0,
        input_tokens=12,
        output_tokens=3,
        error="the refund tool failed",
        error_code="tool_error",
        session_id="conv-1",
    )
    step = {
        "name": "answer",
        "provider": "openai",
        "model": "gpt-4o",
        "input_tokens": 12,
        "output_tokens": 3,
        "started_at": (now - timedelta(milliseconds=200)).isoformat(),
        "finished_at": (now - timedelta(milliseconds=50)).isoformat(),
        "tools": [{"name": "refund", "call_id": "c1", "error": "refused"}],
    }
    output = OutputRecord(
        id=f"out_{n}",
        feature="support",
        version_id="v",
        provider="openai",
        model="gpt-4o",
        params={},
        messages=[],
        status="ok",
        started_at=now - timedelta(milliseconds=250),
        finished_at=now,
        steps=[step],
    )
    return trace, [output]


async def _until(check: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    import asyncio

    deadline = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_spans_arrive_as_otlp_with_their_tree_ids_and_attributes(receiver: Receiver) -> None:
    trace, outputs = a_trace()
    spans = trace_spans(trace, outputs)
    exporter = OtlpExporter(
        receiver.url, {"authorization": "Bearer collector-token"}, service="market", interval_s=0.05
    )
    await exporter.start()
    exporter.offer(spans)
    await _until(lambda: len(receiver.spans()) == len(spans), "the spans to arrive")
    await exporter.stop()
    headers, request = receiver.requests[0]
    assert headers["authorization"] == "Bearer collector-token"
    assert headers["content-type"] == "application/x-protobuf"
    (resource,) = request.resource_spans
    assert {kv.key: kv.value.string_value for kv in resource.resource.attributes} == {"service.name": "market"}
    got = {s.name: s for s in receiver.spans()}
    root, chat, tool = got["invoke_agent support"], got["chat gpt-4o"], got["execute_tool refund"]
    assert {s.trace_id for s in got.values()} == {otlp_id(trace.id, 16)} and len(root.trace_id) == 16
    assert chat.parent_span_id == root.span_id and tool.parent_span_id == chat.span_id and not root.parent_span_id
    attributes = {kv.key: kv.value for kv in chat.attributes}
    assert attributes["gen_ai.request.model"].string_value == "gpt-4o"
    assert attributes["gen_ai.usage.input_tokens"].int_value == 12
    assert attributes["andon.trace_id"].string_value == trace.id
    assert chat.kind == Span.SPAN_KIND_CLIENT and chat.end_time_unix_nano > chat.start_time_unix_nano
    assert (tool.status.code, tool.status.message) == (Status.STATUS_CODE_ERROR, "refused")
    assert (
        root.status.code == Status.STATUS_CODE_ERROR
        and root.end_time_unix_nano == int(trace.created_at.timestamp() * 1e6) * 1000
    )
    assert (exporter.stats.sent, exporter.stats.dropped, exporter.stats.exports) == (len(spans), 0, 1)


async def test_a_full_queue_or_a_failing_collector_drops_counts_and_logs(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    spans = trace_spans(*a_trace())  # three spans
    exporter = OtlpExporter(receiver.url, queue_spans=2, interval_s=0.05)
    exporter.offer(spans)  # not started yet: queued up to the bound, the rest dropped at once
    assert (exporter.queued, exporter.stats.dropped) == (2, 1)
    receiver.status = 503
    with caplog.at_level(logging.WARNING, logger="andon.gateway.otlp"):
        await exporter.start()
        await _until(lambda: exporter.stats.failed_exports == 1, "the refused export")
        await exporter.stop()
    assert (exporter.stats.sent, exporter.stats.dropped) == (0, 3)
    assert len(receiver.requests) == 2  # 503 is retryable: tried once more before dropping
    receiver.status = 400
    refused = OtlpExporter(receiver.url, interval_s=0.05)
    await refused.start()
    refused.offer(spans)
    await _until(lambda: refused.stats.dropped == 3, "the refused export")
    await refused.stop()
    assert len(receiver.requests) == 3  # a 400 is not retried
    assert "span(s) dropped" in caplog.text and "queue is full" in caplog.text

    down = OtlpExporter(f"http://127.0.0.1:{free_port()}/v1/traces", interval_s=0.05)  # nothing listens there
    await down.start()
    down.offer(spans)
    await _until(lambda: down.stats.dropped == 3, "the failed export")
    await down.stop()
    assert down.stats.failed_exports == 1


def test_the_gateway_exports_its_own_traces_without_waiting_for_the_collector(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.delay_s = 3.0  # a slow collector: calls must not wait for it
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    gateway = {"auth": False, "otlp_endpoint": receiver.url, "otlp_headers": {"x-tenant": "daangn"}}
    folder = write_workspace(tmp_path / "ws", gateway=gateway)
    promote_declared(folder, url)
    with GatewayServer(folder, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        trace_ids = []
        for n in range(3):
            clock = time.perf_counter()
            answer = http.post("/v1/features/echo/invoke", json={"variables": {"text": f"hi {n}"}})
            assert answer.status_code == 200, answer.text
            assert time.perf_counter() - clock < receiver.delay_s
            trace_ids.append(answer.json()["trace_id"])
        deadline = time.monotonic() + 30
        while len({_trace_of(s) for s in receiver.spans()}) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
    exported = {_trace_of(s) for s in receiver.spans()}
    assert exported == set(trace_ids)
    assert all(headers["x-tenant"] == "daangn" for headers, _ in receiver.requests)
    roots = [s for s in receiver.spans() if not s.parent_span_id]
    assert sorted(s.name for s in roots) == ["invoke_agent echo"] * 3


def _trace_of(span: Span) -> str:
    return next(kv.value.string_value for kv in span.attributes if kv.key == "andon.trace_id")


def test_an_endpoint_that_is_no_url_is_refused_with_the_form_to_write() -> None:
    with pytest.raises(ValidationError, match=r"http://127\.0\.0\.1:4318/v1/traces"):
        GatewayConfig(otlp_endpoint="127.0.0.1:4318")
    assert GatewayConfig().otlp_endpoint is None
