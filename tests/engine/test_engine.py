"""The shared core: a version runs step by step with caching, schema checks, cost and full provenance."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bench.stub import Scripted, StubServer

from andon.citation import citation_markdown
from andon.workspace import Workspace

RULES = """
from andon.providers.python import Finish

def precheck(variables):
    text = variables["description"]
    if "010-" in text:
        return Finish({"decision": "reject", "violations": ["phone_number"]}, reason="phone number")
    return {"length": len(text)}
"""


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer(echo=True) as server:
        yield server


def make_workspace(root: Path, base_url: str, rules_module: str) -> Workspace:
    (root / f"{rules_module}.py").write_text(RULES, encoding="utf-8")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: engine-test
            providers:
              stub:
                type: openai
                base_url: {base_url}
                api_key: sk-test
                model: stub-model
                max_retries: 1
                backoff_base_s: 0
            prices:
              - {{provider: stub, model: "*", input_per_1m: 1000, output_per_1m: 2000, currency: KRW}}
            features:
              menu-review:
                versions:
                  llm:
                    provider: stub
                    system: 메뉴 사진 검수자입니다.
                    prompt: "메뉴 설명: {{{{ description }}}}"
                  hybrid:
                    steps:
                      - name: precheck
                        python: {rules_module}:precheck
                      - name: judge
                        provider: stub
                        prompt: "설명 길이 {{{{ steps.precheck.json.length }}}}: {{{{ description }}}}"
                  strict:
                    provider: stub
                    prompt: "{{{{ description }}}}"
                    output_schema:
                      type: object
                      required: [decision]
            """
        ),
        encoding="utf-8",
    )
    return Workspace.open(root)


async def test_rule_step_finishes_before_the_model_is_called(tmp_path: Path, stub: StubServer) -> None:
    ws = make_workspace(tmp_path, stub.base_url, "rules_finish")
    try:
        outcome, record = await ws.invoke("menu-review", {"description": "연락은 010-1234-5678"}, version="hybrid")
        assert stub.stats()["requests"] == 0
        assert outcome.status == "ok"
        assert outcome.output_json == {"decision": "reject", "violations": ["phone_number"]}
        assert [s.name for s in outcome.steps] == ["precheck"] and outcome.steps[0].finished
        assert record.provider == "python" and record.model == "rules_finish:precheck"
        assert record.cost == 0.0  # a rule decided: no model was paid for
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_later_step_sees_earlier_step_output(tmp_path: Path, stub: StubServer) -> None:
    ws = make_workspace(tmp_path, stub.base_url, "rules_chain")
    try:
        outcome, record = await ws.invoke("menu-review", {"description": "바삭한 치킨"}, version="hybrid")
        assert [s.name for s in outcome.steps] == ["precheck", "judge"]
        sent = stub.received[-1].body["messages"][-1]["content"]
        assert "설명 길이 6: 바삭한 치킨" in json.dumps(sent, ensure_ascii=False)
        assert outcome.output_text == "설명 길이 6: 바삭한 치킨"  # the stub echoes
        assert record.steps[0]["parsed"] == {"length": 6}
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_provenance_is_stored_and_citable(tmp_path: Path, stub: StubServer) -> None:
    ws = make_workspace(tmp_path, stub.base_url, "rules_prov")
    try:
        _, record = await ws.invoke("menu-review", {"description": "얼큰한 김치찌개"}, version="llm")
        stored = ws.store.get_output(record.id)
        version = ws.version("menu-review", "llm")
        assert stored.version_id == version.id
        assert stored.messages == [
            {"role": "system", "content": [{"type": "text", "text": "메뉴 사진 검수자입니다."}]},
            {"role": "user", "content": [{"type": "text", "text": "메뉴 설명: 얼큰한 김치찌개"}]},
        ]
        assert stored.provider == "stub" and stored.model == "stub-model"
        assert stored.input_tokens > 0 and stored.output_tokens > 0
        expected_cost = (stored.input_tokens * 1000 + stored.output_tokens * 2000) / 1_000_000
        assert stored.cost == pytest.approx(expected_cost) and stored.currency == "KRW"
        assert stored.started_at <= stored.finished_at
        card = citation_markdown(stored)
        assert "메뉴 설명: 얼큰한 김치찌개" in card and version.id in card and "stub-model" in card
        assert "sk-test" not in json.dumps(stored.raw, ensure_ascii=False, default=str)
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_response_cache_hits_same_repeat_and_misses_new_repeat(tmp_path: Path, stub: StubServer) -> None:
    ws = make_workspace(tmp_path, stub.base_url, "rules_cache")
    try:
        variables = {"description": "물냉면"}
        first, _ = await ws.invoke("menu-review", variables, version="llm")
        again, _ = await ws.invoke("menu-review", variables, version="llm")
        assert stub.stats()["requests"] == 1
        assert again.cached and not first.cached and again.output_text == first.output_text
        await ws.invoke("menu-review", variables, version="llm", repeat=1)
        assert stub.stats()["requests"] == 2  # repeats stay independent samples
        await ws.invoke("menu-review", variables, version="llm", use_cache=False)
        assert stub.stats()["requests"] == 3
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_errors_are_outcomes_not_crashes_and_are_not_cached(tmp_path: Path, stub: StubServer) -> None:
    ws = make_workspace(tmp_path, stub.base_url, "rules_errors")
    try:
        outcome, record = await ws.invoke("menu-review", {"description": "not json at all"}, version="strict")
        assert outcome.status == "error" and record.status == "error"
        assert record.error is not None and "not json at all" in (record.output_text or "")
        stub.program(Scripted(status=400, body={"error": {"message": "bad request"}}))
        failed, _ = await ws.invoke("menu-review", {"description": "x"}, version="llm")
        assert failed.status == "error" and "bad request" in (failed.error or "")
        ok, _ = await ws.invoke("menu-review", {"description": "x"}, version="llm")
        assert ok.status == "ok" and not ok.cached  # the failed call was never cached
        missing, _ = await ws.invoke("menu-review", {}, version="llm")
        assert missing.status == "error" and "description" in (missing.error or "")
    finally:
        await ws.aclose_providers()
        ws.close()


async def test_pointing_the_provider_elsewhere_never_reuses_the_old_servers_answers(tmp_path: Path) -> None:
    async with StubServer(echo=True) as first, StubServer(reply="second server") as second:
        ws = make_workspace(tmp_path, first.base_url, "rules_endpoint_a")
        try:
            old, _ = await ws.invoke("menu-review", {"description": "물냉면"}, version="llm")
            old_id = ws.version("menu-review", "llm").id
        finally:
            await ws.aclose_providers()
            ws.close()
        ws = make_workspace(tmp_path, second.base_url, "rules_endpoint_b")
        try:
            new, record = await ws.invoke("menu-review", {"description": "물냉면"}, version="llm")
            assert ws.version("menu-review", "llm").id != old_id
            assert not new.cached and new.output_text == "second server" != old.output_text
            assert second.stats()["requests"] == 1
            card = citation_markdown(ws.store.get_output(record.id))
            assert f"@ {second.base_url.rstrip('/')}" in card
        finally:
            await ws.aclose_providers()
            ws.close()


async def test_credentials_in_the_base_url_never_reach_messages_or_the_store(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port with no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ws = make_workspace(tmp_path, f"http://user:sk-pass-123@127.0.0.1:{port}/v1?key=sk-query-456", "rules_leak")
    try:
        outcome, record = await ws.invoke("menu-review", {"description": "물냉면"}, version="llm")
        assert outcome.status == "error"
        assert "cannot connect to http://***@127.0.0.1" in (outcome.error or "") and "key=***" in (outcome.error or "")
        stored = ws.store.get_output(record.id)
        everything = json.dumps([stored.error, stored.steps, stored.context, stored.raw], default=str)
        for secret in ("sk-pass-123", "sk-query-456", "sk-test"):
            assert secret not in everything and secret not in (outcome.error or "")
    finally:
        await ws.aclose_providers()
        ws.close()
