"""The Anthropic Messages provider against the loopback stub: request shape, usage, JSON, errors."""

from __future__ import annotations

import base64
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from andon.config.schema import Params, ProviderConfig
from andon.errors import MalformedReply, ProviderError
from andon.providers.anthropic import AnthropicProvider, image_block
from andon.providers.base import ImagePart, Message, ProviderRequest, TextPart

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer

KEY = "sk-ant-test-secret-987"


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(reply="안녕하세요 손님") as server:
        yield server


def make(base_url: str, **config: object) -> AnthropicProvider:
    settings: dict[str, object] = {"type": "anthropic", "base_url": base_url, "api_key": SecretStr(KEY)}
    settings.update(config)
    return AnthropicProvider("claude", ProviderConfig.model_validate(settings))


def ask(*messages: Message, **params: object) -> ProviderRequest:
    return ProviderRequest(model="claude-test", messages=messages, params=Params.model_validate(params))


async def test_messages_shape_headers_and_usage(stub: StubServer) -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    request = ask(
        Message("system", (TextPart("You review menu photos."),)),
        Message("system", (TextPart("Answer in Korean."),)),
        Message("user", (TextPart("Is this sharp?"), ImagePart(f"data:image/png;base64,{png}"))),
        Message("assistant", (TextPart("Let me look."),)),
        Message("user", (ImagePart("https://example.com/menu.jpg"), TextPart("And this one?"))),
        temperature=0.3,
        stop=["\n\n"],
    )
    provider = make(stub.root_url)
    try:
        response = await provider.complete(request)
    finally:
        await provider.aclose()
    received = stub.received[0]
    assert received.path == "/v1/messages"
    assert received.headers["x-api-key"] == KEY
    assert received.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in received.headers
    body = received.body
    assert body["system"] == "You review menu photos.\n\nAnswer in Korean."
    assert body["max_tokens"] == 1024
    assert body["temperature"] == 0.3 and body["stop_sequences"] == ["\n\n"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "Is this sharp?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
    ]
    assert body["messages"][2]["content"][0] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.com/menu.jpg"},
    }
    assert response.text == "안녕하세요 손님"
    assert response.model == "claude-test"
    # The stub counts words: system 7 + user 3 + assistant 3 + user 3 = 16 in, 2 out.
    assert (response.input_tokens, response.output_tokens) == (16, 2)
    assert response.finish_reason == "end_turn"
    assert response.raw["type"] == "message"


async def test_base_url_may_end_in_v1_and_max_tokens_is_taken_from_params(stub: StubServer) -> None:
    provider = make(stub.base_url)
    try:
        await provider.complete(ask(Message("user", (TextPart("hi"),)), max_tokens=64))
    finally:
        await provider.aclose()
    assert stub.received[0].path == "/v1/messages"
    assert stub.received[0].body["max_tokens"] == 64
    assert "system" not in stub.received[0].body


def test_percent_encoded_data_url_becomes_base64() -> None:
    block = image_block(ImagePart("data:image/svg+xml,%3Csvg%2F%3E"))
    assert block["source"] == {
        "type": "base64",
        "media_type": "image/svg+xml",
        "data": base64.b64encode(b"<svg/>").decode(),
    }


async def test_json_asked_is_parsed_from_the_text(stub: StubServer) -> None:
    stub.program(Scripted(content='{"sharp": false}'), Scripted(content="Sure! Here it is: {sharp: no}"))
    provider = make(stub.root_url)
    try:
        response = await provider.complete(ask(Message("user", (TextPart("JSON please"),)), json_mode=True))
        with pytest.raises(MalformedReply) as caught:
            await provider.complete(ask(Message("user", (TextPart("JSON please"),)), json_mode=True))
    finally:
        await provider.aclose()
    assert response.parsed == {"sharp": False}
    assert caught.value.raw == "Sure! Here it is: {sharp: no}"
    assert "response_format" not in stub.received[0].body  # the Messages API has no such field


async def test_overloaded_is_retryable_and_bad_request_is_not(stub: StubServer) -> None:
    bad = {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}}
    stub.program(Scripted(status=529), Scripted(status=400, body=bad))
    provider = make(stub.root_url)
    try:
        with pytest.raises(ProviderError) as overloaded:
            await provider.complete(ask(Message("user", (TextPart("hi"),))))
        with pytest.raises(ProviderError) as rejected:
            await provider.complete(ask(Message("user", (TextPart("hi"),))))
    finally:
        await provider.aclose()
    assert (overloaded.value.status, overloaded.value.retryable) == (529, True)
    assert (rejected.value.status, rejected.value.retryable) == (400, False)
    assert "max_tokens: too large" in rejected.value.message


async def test_reply_without_content_list_is_malformed(stub: StubServer) -> None:
    stub.program(Scripted(body={"type": "message", "content": "just a string"}))
    provider = make(stub.root_url)
    try:
        with pytest.raises(MalformedReply):
            await provider.complete(ask(Message("user", (TextPart("hi"),))))
    finally:
        await provider.aclose()
