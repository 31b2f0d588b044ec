"""The local provider: option checks without a model, then real calls to the packaged Qwen model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from andon.config.schema import Params, ProviderConfig
from andon.errors import ConfigError, MalformedReply, ProviderError
from andon.providers.base import ImagePart, Message, Provider, ProviderRequest, TextPart
from andon.providers.local import LocalProvider, load_model, unload_models
from andon.providers.local_model import DEFAULT_MODEL, KNOWN_MODELS

REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    # maxLength becomes part of the grammar too, which keeps a small model's reasons (and the test) short.
    "properties": {"label": {"enum": ["approve", "reject"]}, "reason": {"type": "string", "maxLength": 40}},
    "required": ["label", "reason"],
}
QWEN_05B_SHA256 = KNOWN_MODELS[DEFAULT_MODEL].sha256
SYSTEM = (
    "당신은 배달앱 메뉴 검수자입니다. 메뉴 설명이 음식에 대한 정상적인 설명이면 approve, "
    "전화번호·광고·욕설이 들어 있으면 reject 로 판정하고 이유를 짧은 한 문장으로 적어 JSON 으로 답하세요."
)
MENUS = [
    "메뉴: 김치찌개 — 국내산 돼지고기와 묵은지로 끓인 얼큰한 찌개",
    "메뉴: 불고기 덮밥 — 달콤한 간장 양념 소불고기를 밥 위에",
    "메뉴: 떡볶이 — 쌀떡과 어묵, 고추장 소스",
]


def provider(**options: Any) -> LocalProvider:
    return LocalProvider("local", ProviderConfig(type="local", options=options))


def review(menu: str, **params: Any) -> ProviderRequest:
    messages = (Message("system", (TextPart(SYSTEM),)), Message("user", (TextPart(menu),)))
    defaults: dict[str, Any] = {"temperature": 0, "max_tokens": 96, "json_schema": REVIEW_SCHEMA}
    return ProviderRequest(model="", messages=messages, params=Params(**{**defaults, **params}))


def test_is_a_provider() -> None:
    assert isinstance(provider(), Provider)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"n_ctx": 0}, "n_ctx"), ({"n_threads": "2"}, "n_threads"), ({"nctx": 4096}, "nctx")],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        provider(**options)
    assert info.value.where == f"providers.local.options.{field}"


async def test_images_are_refused_before_loading_anything() -> None:
    image = Message("user", (TextPart("이 사진 어때요?"), ImagePart("data:image/png;base64,AAAA")))
    with pytest.raises(ProviderError) as info:
        await provider(model_path="/nonexistent/never-loaded.gguf").complete(
            ProviderRequest(model="", messages=(image,))
        )
    assert not info.value.retryable
    assert "images" in info.value.message
    assert info.value.hint is not None and "openai-compatible" in info.value.hint


async def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    request = ProviderRequest(model="", messages=(Message("user", (TextPart("hi"),)),))
    with pytest.raises(ConfigError, match="does not exist"):
        await provider(model_path=str(tmp_path / "absent.gguf")).complete(request)


async def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # what an environment without the extra looks like
    with pytest.raises(ProviderError) as info:
        await provider().load()
    assert "llama-cpp-python" in info.value.message
    assert info.value.hint is not None and "'andon[local]'" in info.value.hint


def test_importing_the_provider_does_not_import_llama_cpp() -> None:
    code = "import sys, andon.providers.local; print('llama_cpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache folder, so the test joins the packaged weights without touching ~/.cache."""
    pytest.importorskip("llama_cpp")
    folder = tmp_path_factory.mktemp("andon-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANDON_CACHE_DIR", str(folder))
        yield folder
    unload_models()


@pytest.mark.local_model
async def test_korean_review_returns_schema_valid_json(model_cache: Path) -> None:
    local = provider()
    reply = await local.complete(review(MENUS[0]))
    jsonschema.validate(reply.parsed, REVIEW_SCHEMA)
    assert reply.model == DEFAULT_MODEL
    assert reply.input_tokens > 20 and reply.output_tokens > 0
    assert reply.latency_ms > 0
    assert reply.finish_reason == "stop"
    assert reply.raw["choices"][0]["message"]["content"] == reply.text
    assert reply.cost is None
    await local.aclose()


@pytest.mark.local_model
async def test_concurrent_calls_are_serialised_and_all_succeed(model_cache: Path) -> None:
    local = provider()
    replies = await asyncio.gather(*(local.complete(review(menu)) for menu in MENUS))
    for reply in replies:
        jsonschema.validate(reply.parsed, REVIEW_SCHEMA)
    await local.aclose()
    with pytest.raises(ProviderError, match="closed"):
        await local.complete(review(MENUS[0]))


@pytest.mark.local_model
async def test_shared_system_prompt_reuses_the_kv_cache(model_cache: Path) -> None:
    import llama_cpp

    local = provider()
    loaded = await local.load()
    ctx = loaded.llama._ctx.ctx  # llama.cpp's own counters: prompt tokens actually evaluated
    await local.complete(review(MENUS[1]))
    before = llama_cpp.llama_perf_context(ctx).n_p_eval
    second = await local.complete(review(MENUS[2]))
    evaluated = llama_cpp.llama_perf_context(ctx).n_p_eval - before
    # Only the differing user turn is evaluated; the system prompt's tokens come from the cache.
    assert 0 < evaluated < second.input_tokens - 40


@pytest.mark.local_model
async def test_json_cut_by_max_tokens_is_a_malformed_reply(model_cache: Path) -> None:
    with pytest.raises(MalformedReply) as info:
        await provider().complete(review(MENUS[0], max_tokens=4))
    assert info.value.raw is not None and info.value.raw.startswith("{")
    assert "max_tokens" in info.value.message


@pytest.mark.local_model
async def test_prompt_longer_than_context_names_n_ctx(model_cache: Path) -> None:
    small = provider(n_ctx=64)
    with pytest.raises(ProviderError) as info:
        await small.complete(review(MENUS[0] * 10))
    assert not info.value.retryable
    assert info.value.hint is not None and "n_ctx" in info.value.hint


@pytest.mark.local_model
async def test_same_settings_share_one_loaded_model(model_cache: Path) -> None:
    first, second = provider(), provider(n_ctx=4096)
    assert (await first.load()) is (await second.load())
    path = (await first.load()).path
    assert load_model(path, n_ctx=2048, n_threads=1, n_batch=512) is not (await first.load())


@pytest.mark.local_model
async def test_model_path_option_runs_that_file_and_names_it(model_cache: Path) -> None:
    path = (await provider().load()).path
    custom = provider(model_path=str(path), sha256=QWEN_05B_SHA256)
    request = ProviderRequest(model="", messages=(Message("user", (TextPart("Say hi"),)),), params=Params(max_tokens=2))
    reply = await custom.complete(request)
    assert reply.model == str(path)
    assert reply.output_tokens > 0


@pytest.mark.local_model
async def test_logprobs_cover_the_reply_and_leave_the_answer_unchanged(model_cache: Path) -> None:
    from andon.evals.logprob_confidence import span_confidence

    local = provider()
    # A cold call and a warm one (the prompt's prefix reused from the KV cache) may differ in a free-text reason
    # with or without logprobs, so both compared calls are warm.
    await local.complete(review(MENUS[1]))
    plain = await local.complete(review(MENUS[1]))
    scored = await local.complete(review(MENUS[1], logprobs=True))
    await local.aclose()
    assert scored.text == plain.text and plain.logprobs is None  # recording does not change what is sampled
    assert scored.logprobs is not None and len(scored.logprobs) == scored.output_tokens
    # The recorded tokens spell the reply byte for byte, each with a log-probability <= 0.
    assert b"".join(bytes(e["bytes"]) for e in scored.logprobs) == scored.text.encode("utf-8")
    assert all(e["logprob"] <= 0 for e in scored.logprobs)
    confidence = span_confidence(scored.text, scored.logprobs, "label", scored.parsed["label"])
    assert confidence is not None and 0.0 < confidence <= 1.0
