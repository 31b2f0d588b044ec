"""Token log-probabilities: asked for and read back from an OpenAI-compatible server, recorded while llama.cpp
samples, and kept in the step's provenance and the response cache."""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import Params, ProviderConfig
from andon.engine.cache import response_from_cache, response_to_cache
from andon.providers.base import Message, ProviderRequest, TextPart
from andon.providers.logprobs import LogprobRecorder, from_openai_choice
from andon.providers.openai import OpenAIProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(reply="unused") as server:
        yield server


def _reply(content: str, tokens: list[tuple[str, float]]) -> dict[str, Any]:
    logprobs = {"content": [{"token": tok, "logprob": lp, "bytes": list(tok.encode()), "top_logprobs": []}
                            for tok, lp in tokens]}  # fmt: skip
    return {
        "id": "x", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop",
                     "logprobs": logprobs}],
        "usage": {"prompt_tokens": 3, "completion_tokens": len(tokens)},
    }  # fmt: skip


def _ask(**params: object) -> ProviderRequest:
    return ProviderRequest(
        model="m", messages=(Message("user", (TextPart("hi"),)),), params=Params.model_validate(params)
    )


async def test_openai_asks_for_logprobs_only_when_told_and_reads_them_back(stub: StubServer) -> None:
    provider = OpenAIProvider("remote", ProviderConfig.model_validate({"type": "openai", "base_url": stub.base_url}))
    tokens = [('{"', -0.01), ("decision", -0.002), ('":"', -0.0), ("reject", -0.4), ('"}', -0.03)]
    stub.program(Scripted(body=_reply('{"decision":"reject"}', tokens)), Scripted(body=_reply("ok", [("ok", -1.0)])))
    try:
        asked = await provider.complete(_ask(json_mode=True, logprobs=True))
        plain = await provider.complete(_ask())
    finally:
        await provider.aclose()
    assert stub.received[0].body["logprobs"] is True and "logprobs" not in stub.received[1].body
    assert asked.logprobs is not None and [e["token"] for e in asked.logprobs] == [t for t, _ in tokens]
    assert [e["logprob"] for e in asked.logprobs] == [lp for _, lp in tokens]
    assert plain.logprobs is None  # not asked: not kept, even though the server sent them


def test_a_reply_without_usable_logprobs_gives_none() -> None:
    assert from_openai_choice({"logprobs": None}) is None
    assert from_openai_choice({"logprobs": {"content": [{"token": "a", "logprob": "high"}]}}) is None
    assert from_openai_choice({"logprobs": {"content": [{"token": "a", "logprob": math.inf}]}}) is None
    # Bytes are kept when valid, else the token's UTF-8 stands in.
    (entry,) = from_openai_choice({"logprobs": {"content": [{"token": "승", "logprob": -0.5, "bytes": [999]}]}}) or []
    assert entry["bytes"] == list("승".encode())


@given(
    st.lists(st.lists(st.floats(-30, 30), min_size=4, max_size=4), min_size=1, max_size=6),
    st.lists(st.integers(0, 3), min_size=6, max_size=6),
)
def test_the_recorder_keeps_the_log_softmax_of_each_chosen_token(steps: list[list[float]], picks: list[int]) -> None:
    recorder = LogprobRecorder(lambda ids: bytes([65 + ids[0]]))
    prompt = [7, 8, 9]
    ids = list(prompt)
    for k, logits in enumerate(steps):
        scores = np.array(logits, dtype=np.float32)
        returned = recorder(np.array(ids, dtype=np.intc), scores)
        assert returned is scores  # sampling sees the logits unchanged
        ids.append(picks[k])
    entries = recorder.entries()
    # Each pick is seen on the next call; the last one never is (llama.cpp does not eval the final token).
    assert [e["token"] for e in entries] == [chr(65 + p) for p in picks[: len(steps) - 1]]
    for k, entry in enumerate(entries):
        logits = np.array(steps[k], dtype=np.float32).astype(np.float64)
        expected = logits[picks[k]] - math.log(sum(math.exp(x) for x in logits))
        assert entry["logprob"] == pytest.approx(expected, abs=1e-6)
        assert entry["logprob"] <= 1e-12


def test_logprobs_survive_the_response_cache() -> None:
    response = from_openai_choice(_reply("x", [("x", -0.25)])["choices"][0])
    from andon.providers.base import ProviderResponse

    kept = response_from_cache(response_to_cache(ProviderResponse(text="x", model="m", logprobs=response)))
    assert kept.logprobs == response and kept.cached
    assert "logprobs" not in response_to_cache(ProviderResponse(text="x", model="m"))
