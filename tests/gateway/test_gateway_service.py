"""The gateway's invoke path on SQLite and PostgreSQL, against the loopback stub (OpenAI provider) and Python rules.

Everything is real: the store, the providers, the stub server, the semantic cache (exact mode), the trace writer.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.stub import Scripted, StubServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from tests.support.gateway_server import promote_declared

from andon.config.schema import GatewayConfig, Params
from andon.errors import ConfigError, NotFoundError
from andon.gateway.fetch import ImageFetcher, UnsafeURLError
from andon.gateway.metrics import GatewayMetrics
from andon.gateway.semcache.cache import SemanticCache
from andon.gateway.service import Gateway
from andon.gateway.tracing import TraceWriteError, trace_record
from andon.gateway.types import Caller
from andon.providers.base import ImagePart, Message, TextPart
from andon.store.records import TraceRecord, new_id
from andon.workspace import Workspace

RULES_MODULE = "gw_service_rules"
RULES = """
def scored(variables):
    return {"answer": variables["text"].upper(), "confidence": float(variables.get("confidence", 0.9))}

def echo(variables):
    return {"answer": "rule:" + variables["description"]}

def policy(variables, output):
    if "refund" in str(variables.get("text", "")):
        return "human"
    if "vip" in str(variables.get("text", "")):
        return "ai"
    return None

def broken_policy(variables, output):
    raise RuntimeError("policy bug")
"""

CONFIG = """\
name: gateway-service-test
providers:
  stub:
    type: openai
    base_url: {base_url}
    api_key: sk-test-0123456789abcdef
    model: stub-model
    max_retries: 1
    backoff_base_s: 0
    timeout_s: 5
  rules:
    type: python
prices:
  - {{provider: stub, model: "*", input_per_1m: 1000, output_per_1m: 2000, currency: KRW}}
gateway:
  circuit_failures: 2
  circuit_reset_s: 3600
  group_commit_ms: 1
features:
  menu:
    versions:
      v1:
        provider: stub
        system: 메뉴 검수자입니다.
        prompt: "설명: {{{{ description }}}}"
      v2:
        provider: stub
        prompt: "v2 설명: {{{{ description }}}}"
      rules:
        python: {rules}:echo
    serve:
      live: v1
      data_use: {{inputs: full}}
  queued:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
  pinned:
    versions:
      rules: {{python: "{rules}:echo"}}
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      routing: {{fallback: rules}}
  mismatch:
    versions:
      spare: {{provider: stub, prompt: "{{{{ other }}}}"}}
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      routing: {{fallback: spare}}
  strict:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      routing: {{fallback: "off"}}
  typed:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}", output_schema: {{type: object, required: [answer]}}}}
    serve:
      routing: {{fallback: "off"}}
  scored:
    versions:
      v1: {{python: "{rules}:scored"}}
    serve:
      routing: {{confidence_path: confidence, min_confidence: 0.5, policy: "{rules}:policy"}}
  shadowed:
    versions:
      v1: {{python: "{rules}:scored"}}
    serve:
      routing: {{shadow: true}}
  careless:
    versions:
      v1: {{python: "{rules}:scored"}}
    serve:
      routing: {{policy: "{rules}:broken_policy"}}
  private:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      data_use: {{inputs: redacted}}
  hashed:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      data_use: {{inputs: hash, retention_days: 7}}
  cached:
    versions:
      v1: {{provider: stub, prompt: "{{{{ description }}}}"}}
    serve:
      cache: {{enabled: true, semantic: false}}
  vision:
    versions:
      v1: {{provider: stub, prompt: "what is this?", images: [photo]}}
"""

CALLER = Caller(api_key_id="key_1", user_id="u-7", session_id="s-1", tenant="shop-1", tags={"app": "test"})
Factory = Callable[..., Coroutine[Any, Any, Gateway]]


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(echo=True) as server:
        yield server


@pytest.fixture
async def make_gateway(tmp_path: Path, database_url: str, stub: StubServer) -> AsyncIterator[Factory]:
    """Builds the workspace and a started gateway (with options); closes everything at the end."""
    (tmp_path / f"{RULES_MODULE}.py").write_text(RULES, encoding="utf-8")
    (tmp_path / "andon.yaml").write_text(CONFIG.format(base_url=stub.base_url, rules=RULES_MODULE), encoding="utf-8")
    promote_declared(tmp_path, database_url)  # nothing is live until promoted (tests/deploy/test_deploy_live.py)
    opened: list[tuple[Workspace, Gateway]] = []

    async def factory(**options: Any) -> Gateway:
        ws = Workspace.open(tmp_path, database_url=database_url)
        cache = options.pop("answer_cache", None)
        gateway = Gateway(ws, answer_cache=cache(ws) if cache else None, prune_interval_s=None, **options)
        await gateway.start()
        opened.append((ws, gateway))
        return gateway

    yield factory
    for ws, gateway in opened:
        await gateway.stop()
        await ws.aclose_providers()
        ws.store.close()


def stored(gateway: Gateway, trace_id: str) -> TraceRecord:
    return trace_record(gateway.ws.store.get_trace(trace_id))


async def test_invoke_answers_and_its_trace_is_committed_with_provenance(
    make_gateway: Factory, stub: StubServer
) -> None:
    gateway = await make_gateway()
    result = await gateway.invoke("menu", {"description": "김치찌개 8,000원"}, CALLER)
    assert (result.route, result.status, result.cached) == ("ai", "ok", None)
    assert result.output_text == "설명: 김치찌개 8,000원"  # the stub echoes the rendered prompt
    assert result.version_name == "v1"
    assert (result.input_tokens, result.output_tokens) == (5, 3)  # the stub counts words
    assert result.currency == "KRW" and result.cost == pytest.approx((5 * 1000 + 3 * 2000) / 1e6)
    trace = stored(gateway, result.trace_id)  # committed before invoke returned
    assert (trace.feature, trace.route, trace.status, trace.version_id) == ("menu", "ai", "ok", result.version_id)
    assert (trace.provider, trace.model) == ("stub", "stub-model")
    assert trace.input == {"description": "김치찌개 8,000원"}
    assert (trace.user_id, trace.session_id, trace.tenant, trace.api_key_id) == ("u-7", "s-1", "shop-1", "key_1")
    assert trace.tags == {"app": "test"}
    assert trace.provider_ms > 0 and trace.queue_ms >= 0 and trace.cache_ms == 0
    assert trace.latency_ms >= trace.provider_ms
    assert trace.output_id is not None
    output = gateway.ws.store.outputs_by_id([trace.output_id])[trace.output_id]
    assert output.messages[1]["content"][0]["text"] == "설명: 김치찌개 8,000원"
    assert output.context["trace_id"] == result.trace_id
    assert len(stub.received) == 1


async def test_the_live_version_is_promoted_else_configured_else_explicit(make_gateway: Factory) -> None:
    gateway = await make_gateway()
    v2 = next(v for v in gateway.ws.declared_versions("menu") if v.name == "v2")
    assert (await gateway.invoke("menu", {"description": "a"}, CALLER)).version_name == "v1"  # serve.live, promoted
    gateway.ws.store.record_live("menu", v2.id, "v2", action="promote", actor="tester")
    promoted = await gateway.invoke("menu", {"description": "a"}, CALLER)
    assert (promoted.version_id, promoted.output_text) == (v2.id, "v2 설명: a")
    pinned = await gateway.invoke("menu", {"description": "a"}, CALLER, version="v1")
    assert pinned.version_name == "v1"
    assert (await gateway.live_version("queued")).name == "v1"  # promoted by the fixture, as an operator would
    with pytest.raises(NotFoundError):
        await gateway.invoke("menu", {"description": "a"}, CALLER, version="v9")
    with pytest.raises(NotFoundError, match="no feature"):
        await gateway.invoke("nope", {}, CALLER)


async def test_a_stopped_feature_goes_to_the_review_queue_without_calling_the_model(
    make_gateway: Factory, stub: StubServer
) -> None:
    gateway = await make_gateway()
    gateway.ws.store.record_feature_event("menu", "stopped", {}, "oncall", "wrong prices")
    result = await gateway.invoke("menu", {"description": "a"}, CALLER)
    assert (result.route, result.status, result.output_text) == ("human", "queued", None)
    assert result.review_id is not None
    item = gateway.ws.store.get_review_item(result.review_id)
    assert (item["reason"], item["trace_id"], item["suggestion_text"]) == ("stopped", result.trace_id, None)
    assert "wrong prices" in (stored(gateway, result.trace_id).note or "")
    assert stub.received == []


async def test_provider_failure_after_retries_goes_to_the_queue(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    stub.program(Scripted(status=503), Scripted(status=503))  # the first try and its one retry
    result = await gateway.invoke("queued", {"description": "a"}, CALLER)
    assert (result.route, result.status) == ("fallback", "queued")
    assert len(stub.received) == 2
    trace = stored(gateway, result.trace_id)
    assert trace.error_code == "provider_unavailable"
    assert "503" in (trace.error or "") and "review queue" in (trace.note or "")
    item = gateway.ws.store.get_review_item(result.review_id or "")
    assert (item["reason"], item["trace_id"]) == ("fallback", trace.id)
    assert item["input"] == {"description": "a"}
    # The failed attempt keeps its provenance.
    assert trace.output_id is not None
    assert gateway.ws.store.outputs_by_id([trace.output_id])[trace.output_id].status == "error"


async def test_a_pinned_fallback_version_answers_when_the_provider_fails(
    make_gateway: Factory, stub: StubServer
) -> None:
    gateway = await make_gateway()
    stub.program(Scripted(status=500), Scripted(status=500))
    result = await gateway.invoke("pinned", {"description": "b"}, CALLER)
    assert (result.route, result.status, result.version_name) == ("fallback", "ok", "rules")
    assert result.output_json == {"answer": "rule:b"}
    trace = stored(gateway, result.trace_id)
    assert trace.error_code == "provider_unavailable" and "version rules" in (trace.note or "")
    outputs = gateway.ws.store.outputs_by_id([trace.output_id or ""])
    assert outputs[trace.output_id or ""].provider == "python"
    with gateway.ws.store.engine.connect() as conn:
        statuses = sorted(row[0] for row in conn.execute(text("SELECT status FROM outputs WHERE feature = 'pinned'")))
    assert statuses == ["error", "ok"]  # the failed attempt and the fallback's answer


async def test_a_fallback_version_that_fails_too_is_an_error_not_a_client_mistake(
    make_gateway: Factory, stub: StubServer
) -> None:
    gateway = await make_gateway()
    stub.program(Scripted(status=500), Scripted(status=500))
    result = await gateway.invoke("mismatch", {"description": "d"}, CALLER)
    assert (result.status, result.route, result.error_code) == ("error", "fallback", "fallback_failed")
    assert result.error is not None and "spare" in result.error and "other" in result.error
    assert stored(gateway, result.trace_id).status == "error"


async def test_fallback_off_returns_an_error_with_a_code(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    stub.program(Scripted(status=429), Scripted(status=429))
    result = await gateway.invoke("strict", {"description": "c"}, CALLER)
    assert (result.status, result.error_code, result.review_id) == ("error", "rate_limited", None)
    assert result.error is not None and "429" in result.error
    stub.program(Scripted(status=400))  # not retried, and not a provider outage
    result = await gateway.invoke("strict", {"description": "c"}, CALLER)
    assert result.error_code == "provider_error"
    assert gateway.circuits.get("stub").state == "closed"
    stub.program(Scripted(content='{"other": 1}'))  # answers, but not in the version's schema
    typed = await gateway.invoke("typed", {"description": "c"}, CALLER)
    assert (typed.status, typed.error_code) == ("error", "invalid_output")
    assert gateway.circuits.get("stub").state == "closed"


async def test_an_open_circuit_fails_fast_and_takes_the_fallback(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    stub.program(*[Scripted(status=502)] * 4)
    for _ in range(2):  # two failed calls (after their retries) open the circuit
        assert (await gateway.invoke("queued", {"description": "x"}, CALLER)).route == "fallback"
    assert gateway.circuits.get("stub").state == "open"
    before = stub.stats()["requests"]
    result = await gateway.invoke("strict", {"description": "y"}, CALLER)
    assert (result.status, result.error_code) == ("error", "circuit_open")
    fallback = await gateway.invoke("pinned", {"description": "z"}, CALLER)
    assert (fallback.status, fallback.route) == ("ok", "fallback")
    assert stub.stats()["requests"] == before  # nothing reached the provider
    metrics = parse_metrics(gateway.metrics)
    assert metrics[("andon_circuit_open", (("provider", "stub"),))] == 1.0


async def test_routing_by_confidence_policy_and_shadow(make_gateway: Factory) -> None:
    gateway = await make_gateway()
    sure = await gateway.invoke("scored", {"text": "ok", "confidence": 0.8}, CALLER)
    assert (sure.route, sure.status, sure.output_json) == ("ai", "ok", {"answer": "OK", "confidence": 0.8})
    unsure = await gateway.invoke("scored", {"text": "hmm", "confidence": 0.2}, CALLER)
    assert (unsure.route, unsure.status, unsure.output_json) == ("human", "queued", None)
    item = gateway.ws.store.get_review_item(unsure.review_id or "")
    assert item["reason"] == "low_confidence"
    assert item["suggestion_json"] == {"answer": "HMM", "confidence": 0.2}  # the AI's suggestion is kept
    refund = await gateway.invoke("scored", {"text": "refund please", "confidence": 0.99}, CALLER)
    assert refund.route == "human"
    assert gateway.ws.store.get_review_item(refund.review_id or "")["reason"] == "policy"
    vip = await gateway.invoke("scored", {"text": "vip", "confidence": 0.1}, CALLER)
    assert vip.route == "ai"  # the policy vouched for it: confidence is not checked
    shadow = await gateway.invoke("shadowed", {"text": "s"}, CALLER)
    assert (shadow.route, shadow.status, shadow.output_json) == ("shadow", "ok", {"answer": "S", "confidence": 0.9})
    assert gateway.ws.store.get_review_item(shadow.review_id or "")["reason"] == "shadow"
    broken = await gateway.invoke("careless", {"text": "t"}, CALLER)
    assert broken.route == "human"
    assert "policy bug" in (stored(gateway, broken.trace_id).note or "")


@pytest.mark.parametrize(("feature", "mode"), [("menu", "full"), ("private", "redacted"), ("hashed", "hash")])
async def test_inputs_are_stored_as_the_feature_allows(make_gateway: Factory, feature: str, mode: str) -> None:
    gateway = await make_gateway()
    secret = "call 010-1234-5678 or kim@example.com, card 4111 1111 1111 1111"
    result = await gateway.invoke(feature, {"description": secret}, CALLER)
    assert secret in (result.output_text or "")  # the client always gets the real answer
    trace = stored(gateway, result.trace_id)
    output = gateway.ws.store.outputs_by_id([trace.output_id or ""])[trace.output_id or ""]
    sent = output.messages[-1]["content"][0]["text"].removeprefix("설명: ")
    dump = json.dumps([trace.input, trace.output_text, output.messages, output.steps, output.raw], ensure_ascii=False)
    assert trace.input_mode == mode
    assert len(trace.input_hash) == 64
    if mode == "full":
        assert trace.input == {"description": secret} and sent == secret
    elif mode == "redacted":
        assert trace.input == {"description": "call [PHONE] or [EMAIL], card [CARD]"}
        assert sent == "call [PHONE] or [EMAIL], card [CARD]"
        assert trace.output_text == sent
    else:
        assert trace.input is None
        assert sent.startswith("sha256:") and len(sent) == 7 + 64
    if mode != "full":
        for leaked in ("010-1234-5678", "kim@example.com", "4111 1111"):
            assert leaked not in dump


async def test_the_answer_cache_serves_repeats_and_never_errors(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway(answer_cache=lambda ws: SemanticCache(ws.store, ws.config))
    stub.program(Scripted(status=400))
    failed = await gateway.invoke("cached", {"description": "같은 질문"}, CALLER)
    assert failed.route == "fallback"  # an error, queued: never cached
    first = await gateway.invoke("cached", {"description": "같은 질문"}, CALLER)
    second = await gateway.invoke("cached", {"description": "같은 질문"}, CALLER)
    other_tenant = await gateway.invoke("cached", {"description": "같은 질문"}, Caller(tenant="shop-2"))
    assert (first.cached, second.cached, other_tenant.cached) == (None, "exact", None)
    assert second.output_text == first.output_text == "같은 질문"
    assert len(stub.received) == 3  # the failure, the first answer, the other tenant
    trace = stored(gateway, second.trace_id)
    assert trace.cache == "exact" and trace.provider_ms == 0 and trace.cache_ms > 0
    assert first.trace_id in (trace.note or "")
    metrics = parse_metrics(gateway.metrics)
    assert metrics[("andon_cache_hits_total", (("feature", "cached"), ("kind", "exact")))] == 1.0
    assert metrics[("andon_cache_lookups_total", (("feature", "cached"),))] == 4.0


async def test_bad_variables_are_refused_and_not_traced(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    with pytest.raises(ConfigError, match="JSON object"):
        await gateway.invoke("menu", ["not", "a", "mapping"], CALLER)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="description"):
        await gateway.invoke("menu", {"other": 1}, CALLER)
    with pytest.raises(ConfigError, match="does not read files"):
        await gateway.invoke("vision", {"photo": "/etc/passwd"}, CALLER)
    with pytest.raises(ConfigError, match="image variable"):
        await gateway.invoke("vision", {"photo": 12}, CALLER)
    assert gateway.ws.store.list_traces() == []
    assert stub.received == []


async def test_data_url_images_go_to_the_model(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJ"
        "RU5ErkJggg=="
    )
    result = await gateway.invoke("vision", {"photo": png}, CALLER)
    assert result.status == "ok"
    content = stub.received[0].body["messages"][0]["content"]
    assert content[1] == {"type": "image_url", "image_url": {"url": png}}


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg=="
)


@pytest.fixture
async def image_server() -> AsyncIterator[str]:
    """A loopback HTTP server answering every GET with a 1x1 PNG; yields its base URL."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len(PNG)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + PNG)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_image_urls_are_fetched_safely_into_data_urls(
    make_gateway: Factory, stub: StubServer, image_server: str
) -> None:
    url = f"{image_server}/menu/m001.png"
    guarded = await make_gateway()  # default settings: loopback is off limits
    with pytest.raises(UnsafeURLError):
        await guarded.invoke("vision", {"photo": url}, CALLER)
    assert stub.received == [] and guarded.ws.store.list_traces() == []
    trusting = await make_gateway(image_fetcher=ImageFetcher(GatewayConfig(allow_private_image_urls=True)))
    try:
        result = await trusting.invoke("vision", {"photo": url}, CALLER)
    finally:
        assert trusting.image_fetcher is not None
        await trusting.image_fetcher.aclose()  # type: ignore[attr-defined]
    assert result.status == "ok"
    sent = stub.received[0].body["messages"][0]["content"][1]["image_url"]["url"]
    assert sent == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert stored(trusting, result.trace_id).input == {"photo": url}  # the trace keeps the URL, not the bytes


async def test_call_model_traces_a_plain_model_call(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    messages = [
        Message("system", (TextPart("Be brief. {{ not a template }}"),)),
        Message("user", (TextPart("hi there"),)),
    ]
    result = await gateway.call_model("stub", "gpt-test", messages, Params(temperature=0), CALLER)
    assert (result.status, result.output_text, result.feature) == ("ok", "hi there", "@stub")
    assert stub.received[0].body["messages"][0] == {"role": "system", "content": "Be brief. {{ not a template }}"}
    assert stub.received[0].body["model"] == "gpt-test"
    trace = stored(gateway, result.trace_id)
    assert (trace.feature, trace.model, trace.input_mode) == ("@stub", "gpt-test", "redacted")
    assert gateway.ws.store.get_version("@stub", trace.version_id or "").name == "gpt-test"
    with pytest.raises(ConfigError, match="Python"):
        await gateway.call_model("rules", "os:getcwd", messages, None, CALLER)
    for unknown in ("python", "nobody"):  # the built-in python provider is never reachable this way
        with pytest.raises(NotFoundError):
            await gateway.call_model(unknown, "os:getcwd", messages, None, CALLER)
    turns = [*messages, Message("assistant", (TextPart("hello"),)), Message("user", (TextPart("again"),))]
    with pytest.raises(ConfigError, match="one user message"):
        await gateway.call_model("stub", "gpt-test", turns, None, CALLER)
    stub.program(Scripted(status=500), Scripted(status=500))
    failed = await gateway.call_model(
        "stub", "gpt-test", [Message("user", (ImagePart("data:image/png;base64,AA"),))], None, CALLER
    )
    assert (failed.status, failed.error_code) == ("error", "provider_unavailable")


async def test_feedback_is_stored_and_checked(make_gateway: Factory) -> None:
    gateway = await make_gateway()
    result = await gateway.invoke("private", {"description": "x"}, CALLER)
    saved = await gateway.feedback(result.trace_id, thumbs=-1, comment="틀림, 연락 010-2222-3333", user_id="u-7")
    assert (saved.thumbs, saved.comment) == (-1, "틀림, 연락 [PHONE]")  # redacted like the feature's inputs
    await gateway.feedback(result.trace_id, score=0.25)
    assert [f.score for f in gateway.ws.store.list_feedback(result.trace_id)] == [None, 0.25]
    with pytest.raises(NotFoundError):
        await gateway.feedback("trc_unknown", thumbs=1)
    with pytest.raises(ConfigError, match="thumbs"):
        await gateway.feedback(result.trace_id, thumbs=5)
    with pytest.raises(ConfigError, match="needs"):
        await gateway.feedback(result.trace_id)
    with pytest.raises(ConfigError, match="finite"):
        await gateway.feedback(result.trace_id, score=float("nan"))


async def test_a_failed_trace_commit_fails_the_call(make_gateway: Factory, stub: StubServer) -> None:
    gateway = await make_gateway()
    with gateway.ws.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE feedback"))
        conn.execute(text("DROP TABLE traces"))
    with pytest.raises(TraceWriteError):
        await gateway.invoke("menu", {"description": "a"}, CALLER)
    assert len(stub.received) == 1  # answered, but not acknowledged
    metrics = parse_metrics(gateway.metrics)
    assert (
        metrics.get(
            ("andon_requests_total", (("cache", "none"), ("feature", "menu"), ("route", "ai"), ("status", "ok")))
        )
        is None
    )
    assert metrics[("andon_trace_write_failures_total", ())] == 1.0


async def test_retention_prunes_old_traces(make_gateway: Factory) -> None:
    gateway = await make_gateway()
    young = await gateway.invoke("hashed", {"description": "a"}, CALLER)
    old = trace_record({**gateway.ws.store.get_trace(young.trace_id), "id": new_id("trc"), "output_id": None})
    old.created_at = datetime.now(UTC) - timedelta(days=8)  # hashed keeps traces 7 days
    gateway.ws.store.save_traces([old])
    counts = await gateway.prune()
    assert counts.traces == 1
    assert [t["id"] for t in gateway.ws.store.list_traces("hashed")] == [young.trace_id]


async def test_a_bad_fallback_name_is_refused_at_start(tmp_path: Path, database_url: str, stub: StubServer) -> None:
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            providers:
              stub: {{type: openai, base_url: {stub.base_url}, api_key: sk-x, model: m}}
            features:
              f:
                versions:
                  v1: {{prompt: "hi"}}
                serve:
                  routing: {{fallback: v9}}
            """
        ),
        encoding="utf-8",
    )
    ws = Workspace.open(tmp_path, database_url=database_url)
    try:
        with pytest.raises(ConfigError) as caught:
            await Gateway(ws, prune_interval_s=None).start()
        assert caught.value.where == "features.f.serve.routing.fallback"
    finally:
        ws.store.close()


# --- metrics ----------------------------------------------------------------------------------------


def parse_metrics(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by name and sorted labels."""
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


traces = st.builds(
    lambda feature, route, status, cache, tokens, cost, ms: TraceRecord(
        id=new_id("trc"),
        feature=feature,
        route=route,
        status=status,
        input_mode="full",
        input=None,
        input_hash="0" * 64,
        created_at=datetime.now(UTC),
        cache=cache,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost=cost,
        currency="KRW" if cost is not None else None,
        latency_ms=ms,
        provider="stub",
        provider_ms=ms / 2,
        error_code="provider_error" if status == "error" else None,
    ),
    st.sampled_from(["menu", "review", "메뉴"]),
    st.sampled_from(["ai", "human", "shadow", "fallback"]),
    st.sampled_from(["ok", "error", "queued"]),
    st.sampled_from([None, "exact", "semantic"]),
    st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
    st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),
    st.floats(0, 120_000, allow_nan=False),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(traces, max_size=30))
def test_metrics_add_up_to_what_was_observed(observed: list[TraceRecord]) -> None:
    metrics = GatewayMetrics()
    for trace in observed:
        metrics.observe(trace, cache_looked_up=True)
    samples = parse_metrics(metrics)

    def total(name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, sample_labels), value in samples.items()
            if sample == name and all((k, v) in sample_labels for k, v in labels.items())
        )

    for feature in {t.feature for t in observed}:
        mine = [t for t in observed if t.feature == feature]
        assert total("andon_requests_total", feature=feature) == len(mine)
        assert total("andon_request_latency_seconds_count", feature=feature) == len(mine)
        assert total("andon_tokens_total", feature=feature, direction="input") == sum(t.input_tokens for t in mine)
        assert total("andon_cost_total", feature=feature) == pytest.approx(sum(t.cost or 0 for t in mine))
        assert total("andon_cache_hits_total", feature=feature) == sum(t.cache is not None for t in mine)
        for route in ("ai", "human", "shadow", "fallback"):
            assert total("andon_routes_total", feature=feature, route=route) == sum(t.route == route for t in mine)
        assert total("andon_errors_total", feature=feature) == sum(t.status == "error" for t in mine)
    # A fresh gateway's registry is its own: nothing leaks between instances.
    assert total("andon_requests_total") == len(observed)


# --- the CLI over the same store ---------------------------------------------------------------------


def andon(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "ANDON_DATABASE_URL": database_url}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def test_traces_cli_lists_shows_and_prunes(make_gateway: Factory, tmp_path: Path, database_url: str) -> None:
    gateway = await make_gateway()
    first = await gateway.invoke("private", {"description": "kim@example.com"}, CALLER)
    await gateway.feedback(first.trace_id, thumbs=1, comment="good")
    second = await gateway.invoke("scored", {"text": "hm", "confidence": 0.1}, CALLER)
    old = trace_record({**gateway.ws.store.get_trace(second.trace_id), "id": new_id("trc"), "output_id": None})
    old.created_at = datetime.now(UTC) - timedelta(days=3)
    gateway.ws.store.save_traces([old])

    listed = andon("traces", "list", "--json", cwd=tmp_path, database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    assert [t["id"] for t in json.loads(listed.stdout)] == [second.trace_id, first.trace_id, old.id]
    only = json.loads(
        andon("traces", "list", "scored", "--route", "human", "--json", cwd=tmp_path, database_url=database_url).stdout
    )
    assert {t["id"] for t in only} == {second.trace_id, old.id}

    shown = andon("traces", "show", first.trace_id[:20], "--json", cwd=tmp_path, database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["trace"]["input"] == {"description": "[EMAIL]"}
    assert detail["output"]["messages"][0]["content"][0]["text"] == "[EMAIL]"
    assert [f["comment"] for f in detail["feedback"]] == ["good"]
    text_view = andon("traces", "show", first.trace_id, cwd=tmp_path, database_url=database_url)
    assert text_view.returncode == 0 and "[EMAIL]" in text_view.stdout and "prompt sent" in text_view.stdout
    missing = andon("traces", "show", "trc_nope", cwd=tmp_path, database_url=database_url)
    assert missing.returncode == 2 and "no trace" in missing.stderr and "Traceback" not in missing.stderr

    pruned = andon("traces", "prune", "--days", "2", "--json", cwd=tmp_path, database_url=database_url)
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout) == {"traces": 1, "outputs": 0, "feedback": 0}
    assert {t["id"] for t in gateway.ws.store.list_traces()} == {first.trace_id, second.trace_id}
