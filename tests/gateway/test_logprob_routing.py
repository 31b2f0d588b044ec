"""Routing on token log-probabilities, end to end: the real gateway on loopback, the OpenAI-compatible stub behind
it returning ``choices[0].logprobs`` (``serve.routing.confidence_source: logprob``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.stub import Scripted, StubServer
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.store import Store

pytestmark = pytest.mark.timeout(300)

THRESHOLD = 0.8


def _reply(tokens: list[tuple[str, float]], *, logprobs: bool = True) -> dict[str, Any]:
    """A chat completion whose content is the tokens joined, with their logprobs as OpenAI sends them."""
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": "".join(tok for tok, _ in tokens)},
        "finish_reason": "stop",
    }
    if logprobs:
        choice["logprobs"] = {
            "content": [{"token": tok, "logprob": lp, "bytes": list(tok.encode()), "top_logprobs": []}
                        for tok, lp in tokens]
        }  # fmt: skip
    return {"id": "x", "object": "chat.completion", "model": "m", "choices": [choice],
            "usage": {"prompt_tokens": 3, "completion_tokens": len(tokens)}}  # fmt: skip


def _decision(value_tokens: list[tuple[str, float]]) -> list[tuple[str, float]]:
    return [('{"', -0.01), ("decision", -0.02), ('": "', -0.05), *value_tokens, ('"}', -0.03)]


def _workspace(tmp_path: Path, stub_url: str) -> Path:
    routing = {"confidence_path": "decision", "confidence_source": "logprob", "min_confidence": THRESHOLD}
    version = {"provider": "stub", "prompt": "판정: {{ text }}",
               "params": {"temperature": 0, "json_mode": True, "logprobs": True}}  # fmt: skip
    features = {
        "moderate": {"versions": {"v1": version}, "serve": {"routing": routing, "data_use": {"inputs": "full"}}},
        "moderate-cached": {
            "versions": {"v1": version},
            "serve": {"routing": routing, "cache": {"enabled": True, "semantic": False}},
        },
    }
    return write_workspace(tmp_path / "ws", stub_url=stub_url, gateway={"auth": False}, features=features)


async def test_an_answer_the_model_was_unsure_of_goes_to_the_review_queue(tmp_path: Path, database_url: str) -> None:
    sure = _decision([("approve", -0.01)])  # p = e^-0.01 ≈ 0.990 of writing "approve"
    unsure = _decision([("re", -0.3), ("ject", -0.4)])  # p = e^-0.7 ≈ 0.497: every token of the value counts
    async with StubServer(reply="unused") as stub:
        stub.program(
            Scripted(body=_reply(sure)),
            Scripted(body=_reply(unsure)),
            Scripted(body=_reply(sure, logprobs=False)),  # a server that sends none: nothing to trust
            Scripted(body=_reply(sure)),  # moderate-cached, first call; the second is a cache hit
        )
        ws = _workspace(tmp_path, stub.base_url)
        with GatewayServer(ws, database_url=database_url) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

                async def invoke(feature: str, text: str) -> dict[str, Any]:
                    response = await http.post(f"/v1/features/{feature}/invoke", json={"variables": {"text": text}})
                    body = dict(response.json())
                    # 200 with the AI's answer; 202 when it waits in the review queue.
                    assert response.status_code == (202 if body["route"] == "human" else 200), response.text
                    return body

                automated = await invoke("moderate", "맛있어요")
                reviewed = await invoke("moderate", "별로예요")
                silent = await invoke("moderate", "그럭저럭")
                first = await invoke("moderate-cached", "좋아요")
                hit = await invoke("moderate-cached", "좋아요")
        assert all(r.body.get("logprobs") is True for r in stub.received)  # the step asked for them
        assert len(stub.received) == 4  # the cache hit called no model

    assert (automated["route"], automated["status"], automated["output_json"]) == ("ai", "ok", {"decision": "approve"})
    assert (reviewed["route"], reviewed["status"], reviewed["output_json"]) == ("human", "queued", None)
    assert (silent["route"], silent["status"]) == ("human", "queued")
    assert (first["route"], hit["route"]) == ("ai", "ai") and hit["cached"] is not None
    with Store.open(database_url) as store:
        item = store.get_review_item(reviewed["review_id"])
        assert item["reason"] == "low_confidence"
        assert item["suggestion_json"] == {"decision": "reject"}  # the AI's answer waits for a person
        note = store.get_trace(reviewed["trace_id"])["note"] or ""
        assert f"confidence {math.exp(-0.7):g} < {THRESHOLD:g}" in note
        assert store.get_review_item(silent["review_id"])["reason"] == "low_confidence"
        assert "no token log-probabilities for decision" in (store.get_trace(silent["trace_id"])["note"] or "")
        assert store.get_trace(automated["trace_id"])["route"] == "ai"
        hit_note = store.get_trace(hit["trace_id"])["note"] or ""
        assert f"confidence of cached trace {first['trace_id']} was judged" in hit_note
