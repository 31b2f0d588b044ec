"""The AI notice, end to end: every AI-made answer carries the marker (field and header), human ones never."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.stub import StubServer
from tests.support.gateway_server import GatewayServer, workspace_config, write_workspace

from andon.citation import citation_markdown
from andon.store import Store

pytestmark = pytest.mark.timeout(300)

POLICY = '''\
"""Routing of the disclosure test workspace."""


def to_human(variables, output):
    """Every answer goes to a person first."""
    return "human"
'''


def _workspace(tmp_path: Path, stub_url: str) -> Path:
    model = {"provider": "stub", "prompt": "{{ input }}"}
    features: dict[str, Any] = {
        "chat": {"chat_input": "input", "versions": {"v1": model}},
        "worded": {"versions": {"v1": model}, "disclosure": {"text": {"ko": "상담 AI의 답변입니다"}}},
        "rules-ai": {"versions": {"v1": {"python": "gw_rules:echo"}}, "disclosure": {"enabled": True}},
        "silent": {"versions": {"v1": model}, "disclosure": {"enabled": False}},
        "reviewed": {"versions": {"v1": model}, "serve": {"routing": {"policy": "trust_policy:to_human"}}},
    }
    ws = write_workspace(tmp_path / "ws", stub_url=stub_url, gateway={"auth": False}, features=features)
    (ws / "trust_policy.py").write_text(POLICY, encoding="utf-8")
    return ws


async def test_ai_answers_carry_the_marker_and_human_ones_do_not(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    async with StubServer(echo=True) as stub:
        with GatewayServer(_workspace(tmp_path, stub.base_url), database_url=db) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

                async def invoke(feature: str, language: str = "en") -> httpx.Response:
                    return await http.post(
                        f"/v1/features/{feature}/invoke",
                        json={"variables": {"input": "안녕하세요"}},
                        headers={"accept-language": language},
                    )

                answers = {name: await invoke(name) for name in ("chat", "rules-ai", "silent", "reviewed", "echo")}
                korean = await invoke("chat", "ko-KR,ko;q=0.9")
                worded = await invoke("worded", "ko")
                chat = await http.post(
                    "/v1/chat/completions",
                    json={"model": "feature:chat", "messages": [{"role": "user", "content": "hi"}]},
                )
                streamed = await http.post(
                    "/v1/chat/completions",
                    json={"model": "feature:chat", "messages": [{"role": "user", "content": "hi"}], "stream": True},
                )
    marked = {name: answer.headers.get("x-andon-ai-generated") for name, answer in answers.items()}
    assert marked == {"chat": "true", "rules-ai": "true", "silent": None, "reviewed": None, "echo": None}
    fields = {name: answer.json()["ai_generated"] for name, answer in answers.items()}
    assert fields == {"chat": True, "rules-ai": True, "silent": False, "reviewed": False, "echo": False}
    assert answers["reviewed"].status_code == 202 and answers["reviewed"].json()["route"] == "human"
    assert answers["chat"].json()["ai_notice"] == "This answer was written by AI."
    assert answers["echo"].json()["ai_notice"] is None
    assert korean.json()["ai_notice"] == "AI가 작성한 답변입니다."
    assert worded.json()["ai_notice"] == "상담 AI의 답변입니다"
    assert chat.headers["x-andon-ai-generated"] == "true" and chat.json()["andon"]["ai_generated"] is True
    assert streamed.headers["x-andon-ai-generated"] == "true" and '"ai_generated": true' in streamed.text

    with Store.open(db) as store:
        output = store.get_output(store.get_trace(answers["chat"].json()["trace_id"])["output_id"])
        human = store.get_output(store.get_trace(answers["reviewed"].json()["trace_id"])["output_id"])
    assert output.context["ai_generated"] is True and human.context["ai_generated"] is False
    assert "X-Andon-AI-Generated: true" in citation_markdown(output, "en")
    assert "AI 고지" in citation_markdown(output, "ko") and "X-Andon-AI-Generated" not in citation_markdown(human)


async def test_an_answer_from_the_cache_or_a_fallback_version_is_marked_like_the_models_own(tmp_path: Path) -> None:
    model = {"provider": "stub", "prompt": "{{ input }}"}
    features: dict[str, Any] = {
        "cached": {"versions": {"v1": model}, "serve": {"cache": {"enabled": True}, "data_use": {"inputs": "full"}}},
        # The live version's provider is down: a pinned version's model answers instead.
        "failing": {"versions": {"old": model, "v1": {**model, "provider": "down"}},
                    "serve": {"live": "v1", "routing": {"fallback": "old"}}},
    }  # fmt: skip
    db = f"sqlite:///{tmp_path / 'andon.db'}"
    async with StubServer(echo=True) as stub:
        config = workspace_config(stub_url=stub.base_url, gateway={"auth": False}, features=features)
        # Nothing listens on port 9 of the loopback: every call to it fails at once.
        config["providers"]["down"] = {**config["providers"]["stub"], "base_url": "http://127.0.0.1:9/v1"}
        ws = tmp_path / "ws"
        ws.mkdir()
        (ws / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
        with GatewayServer(ws, database_url=db) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:

                async def invoke(feature: str) -> httpx.Response:
                    return await http.post(
                        f"/v1/features/{feature}/invoke", json={"variables": {"input": "안녕하세요"}}
                    )

                first, again, fallback = await invoke("cached"), await invoke("cached"), await invoke("failing")
    assert first.json()["cached"] is None and again.json()["cached"] is not None, again.json()
    assert fallback.json()["route"] == "fallback" and fallback.json()["version_name"] == "old", fallback.json()
    for answer in (first, again, fallback):
        assert answer.status_code == 200 and answer.headers["x-andon-ai-generated"] == "true"
        assert answer.json()["ai_generated"] is True and answer.json()["ai_notice"] == "This answer was written by AI."
