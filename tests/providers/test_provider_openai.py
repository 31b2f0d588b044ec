"""The OpenAI-compatible provider against the loopback stub: wire shape, usage, JSON and error mapping."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from andon.config.schema import Params, ProviderConfig
from andon.errors import ConfigError, MalformedReply, ProviderError, ProviderTimeout
from andon.providers._http import parse_retry_after
from andon.providers.base import ImagePart, Message, ProviderRequest, TextPart
from andon.providers.openai import OpenAIProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer

KEY = "sk-test-secret-0123456789"


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(reply="Hello there") as server:
        yield server


def make(stub: StubServer, **config: object) -> OpenAIProvider:
    settings: dict[str, object] = {"type": "openai", "base_url": stub.base_url, "api_key": SecretStr(KEY)}
    settings.update(config)
    return OpenAIProvider("remote", ProviderConfig.model_validate(settings))


def ask(text: str = "Say hi", *, model: str = "gpt-test", **params: object) -> ProviderRequest:
    messages = (Message("system", (TextPart("Be brief."),)), Message("user", (TextPart(text),)))
    return ProviderRequest(model=model, messages=messages, params=Params.model_validate(params))


async def test_text_reply_with_usage_and_bearer_key(stub: StubServer) -> None:
    provider = make(stub)
    try:
        response = await provider.complete(ask("one two three"))
    finally:
        await provider.aclose()
    assert response.text == "Hello there"
    assert response.model == "gpt-test"
    # The stub counts words: 2 (system) + 3 (user) in, 2 out.
    assert (response.input_tokens, response.output_tokens) == (5, 2)
    assert response.finish_reason == "stop"
    assert response.latency_ms > 0
    assert response.raw["choices"][0]["message"]["content"] == "Hello there"
    assert response.parsed is None
    received = stub.received[0]
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert received.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "one two three"},
    ]


async def test_image_parts_arrive_in_openai_shape(stub: StubServer) -> None:
    data_url = "data:image/png;base64,iVBORw0KGgo="
    message = Message(
        "user", (TextPart("What is on the menu?"), ImagePart(data_url), ImagePart("https://example.com/m.jpg"))
    )
    provider = make(stub)
    try:
        await provider.complete(ProviderRequest(model="vision", messages=(message,)))
    finally:
        await provider.aclose()
    assert stub.received[0].body["messages"][0]["content"] == [
        {"type": "text", "text": "What is on the menu?"},
        {"type": "image_url", "image_url": {"url": data_url}},
        {"type": "image_url", "image_url": {"url": "https://example.com/m.jpg"}},
    ]


async def test_sampling_params_and_json_schema_are_sent_and_reply_parsed(stub: StubServer) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    stub.program(Scripted(content='{"ok": true, "메뉴": "김밥"}'))
    provider = make(stub)
    try:
        response = await provider.complete(
            ask(temperature=0.2, top_p=0.9, max_tokens=50, seed=7, stop=["END"], json_schema=schema)
        )
    finally:
        await provider.aclose()
    body = stub.received[0].body
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"], body["stop"]) == (
        0.2,
        0.9,
        50,
        7,
        ["END"],
    )
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": True},
    }
    assert response.parsed == {"ok": True, "메뉴": "김밥"}


async def test_unset_params_are_left_out_and_json_mode_asks_for_an_object(stub: StubServer) -> None:
    stub.program(Scripted(content='```json\n{"n": 1}\n```'))
    provider = make(stub)
    try:
        response = await provider.complete(ask(json_mode=True))
    finally:
        await provider.aclose()
    body = stub.received[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert not {"temperature", "top_p", "max_tokens", "seed", "stop"} & set(body)
    assert response.parsed == {"n": 1}  # one Markdown fence is tolerated


async def test_malformed_json_is_a_malformed_reply_keeping_the_text(stub: StubServer) -> None:
    stub.program(Scripted(content='{"ok": tru'))
    provider = make(stub)
    try:
        with pytest.raises(MalformedReply) as caught:
            await provider.complete(ask(json_mode=True))
    finally:
        await provider.aclose()
    assert caught.value.raw == '{"ok": tru'
    assert caught.value.retryable is False
    assert caught.value.hint


async def test_client_error_is_not_retryable_and_carries_the_provider_message(stub: StubServer) -> None:
    # Some servers echo the key back; it must not reach our error message or raw body.
    body = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}
    stub.program(Scripted(status=401, body=body))
    provider = make(stub)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    error = caught.value
    assert (error.status, error.retryable) == (401, False)
    assert "Incorrect API key provided" in error.message
    assert KEY not in str(error) and KEY not in (error.raw or "")
    assert "api_key" in (error.hint or "")


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_rate_limits_and_server_errors_are_retryable_with_retry_after(stub: StubServer, status: int) -> None:
    stub.program(Scripted(status=status, headers={"Retry-After": "7"}))
    provider = make(stub)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after) == (status, True, 7.0)
    assert f"programmed HTTP {status}" in caught.value.message


def test_retry_after_as_seconds_milliseconds_or_http_date() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now=now) == 30.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "1.5"})) == 1.5
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250", "Retry-After": "9"})) == 0.25
    assert parse_retry_after(httpx.Headers({"Retry-After": "-3"})) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


async def test_timeout_is_a_retryable_provider_timeout(stub: StubServer) -> None:
    stub.program(Scripted(delay_s=2.0))
    provider = make(stub, timeout_s=0.2)
    try:
        with pytest.raises(ProviderTimeout) as caught:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert caught.value.retryable is True
    assert "0.2 s" in caught.value.message


async def test_connection_refused_is_retryable_and_names_the_base_url() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}/v1"
    provider = OpenAIProvider("remote", ProviderConfig(type="openai", base_url=base_url, api_key=SecretStr(KEY)))
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert caught.value.retryable is True
    assert base_url in caught.value.message and base_url in (caught.value.hint or "")
    assert KEY not in str(caught.value)


async def test_a_non_json_answer_is_a_malformed_reply(stub: StubServer) -> None:
    stub.program(Scripted(body="<html>login page</html>"))
    provider = make(stub)
    try:
        with pytest.raises(MalformedReply) as caught:
            await provider.complete(ask())
    finally:
        await provider.aclose()
    assert caught.value.raw == "<html>login page</html>"


async def test_reply_without_choices_is_a_malformed_reply(stub: StubServer) -> None:
    stub.program(Scripted(body={"object": "list", "data": []}))
    provider = make(stub)
    try:
        with pytest.raises(MalformedReply):
            await provider.complete(ask())
    finally:
        await provider.aclose()


async def test_options_add_headers_body_fields_and_rename_max_tokens(stub: StubServer) -> None:
    options = {
        "headers": {"X-Team": "menu"},
        "extra_body": {"user": "andon-test"},
        "max_tokens_field": "max_completion_tokens",
    }
    provider = make(stub, options=options, model="default-model")
    try:
        response = await provider.complete(ask(model="", max_tokens=12))
    finally:
        await provider.aclose()
    received = stub.received[0]
    assert received.headers["x-team"] == "menu"
    assert received.body["user"] == "andon-test"
    assert received.body["max_completion_tokens"] == 12 and "max_tokens" not in received.body
    assert received.body["model"] == response.model == "default-model"


async def test_no_model_anywhere_is_a_config_error(stub: StubServer) -> None:
    provider = make(stub)
    try:
        with pytest.raises(ConfigError) as caught:
            await provider.complete(ask(model=""))
    finally:
        await provider.aclose()
    assert caught.value.where == "providers.remote"
    assert stub.received == []


async def test_stub_speaks_to_the_official_client_plain_and_streaming(stub: StubServer) -> None:
    openai = pytest.importorskip("openai")
    client = openai.AsyncOpenAI(base_url=stub.base_url, api_key=KEY, max_retries=0)
    try:
        reply = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        pieces = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    finally:
        await client.close()
    assert reply.choices[0].message.content == "Hello there"
    assert reply.usage is not None and reply.usage.completion_tokens == 2
    assert "".join(pieces) == "Hello there"
    assert stub.stats()["requests"] == 2
