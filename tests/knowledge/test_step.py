"""The ``retrieve`` step through the engine: chunks in the prompt template, their ids in provenance, and the
retrieval settings plus the knowledge base's content hash in the version id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tests.support.threaded_stub import ThreadedStub

from andon.config.schema import Step
from andon.engine.pipeline import Outcome, run_version
from andon.knowledge.ingest import add_paths
from andon.versions.canonical import Version
from andon.workspace import Workspace

PROMPT = "{% for c in chunks %}[{{ c.citation }}] {{ c.text }}\n{% endfor %}질문: {{ input }}"


def version(k: int, mode: str = "bm25") -> dict[str, Any]:
    return {
        "steps": [
            {"name": "find", "retrieve": {"knowledge": "help", "k": k, "mode": mode}},
            {"name": "answer", "provider": "stub", "prompt": PROMPT},
        ]
    }


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def workspace(root: Path, stub_url: str) -> Workspace:
    docs = root / "docs"
    docs.mkdir(parents=True)
    (docs / "refund.md").write_text("# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다.\n", encoding="utf-8")
    (docs / "account.md").write_text("# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다.\n", encoding="utf-8")
    config = {
        "andon": 1,
        "name": "rag-test",
        "providers": {
            "stub": {"type": "openai", "base_url": stub_url, "api_key": "sk-stub", "model": "m", "max_retries": 0}
        },
        "features": {
            "help": {"versions": {"top1": version(1), "top2": version(2), "top1-hybrid": version(1, "hybrid")}}
        },
    }
    (root / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    ws = Workspace.open(root)
    add_paths(ws.store, "help", [docs])
    return ws


def run(ws: Workspace, v: Version, variables: dict[str, Any]) -> Outcome:
    """Run and release the providers on one event loop (their connections belong to it)."""

    async def go() -> Outcome:
        try:
            return await run_version(v, variables, ws)
        finally:
            await ws.aclose_providers()

    return asyncio.run(go())


def test_chunks_reach_the_prompt_and_their_ids_the_provenance(tmp_path: Path, stub: ThreadedStub) -> None:
    with workspace(tmp_path, stub.base_url) as ws:
        top1 = next(v for v in ws.declared_versions("help") if v.name == "top1")
        outcome = run(ws, top1, {"input": "비밀번호를 바꾸고 싶어요"})
        assert outcome.status == "ok", outcome.error
        find, answer = outcome.steps
        chunk = ws.store.knowledge_chunks("help")
        account = next(c for c in chunk if c.source_path == "docs/account.md")
        assert find.parsed["chunk_ids"] == [account.id]
        assert find.parsed["content_hash"] == ws.store.knowledge_hash("help")
        assert find.provider == "retrieve" and find.model == "help" and find.params == {"k": 1, "mode": "bm25"}
        sent = answer.messages[-1]["content"]
        assert "[account.md › 계정 (l. 1–3)] # 계정" in str(sent) and "환불" not in str(sent)
        assert outcome.output_text is not None and "비밀번호" in outcome.output_text
        assert outcome.to_record().steps[0]["parsed"]["chunk_ids"] == [account.id]  # kept with the output


def test_version_ids_name_the_settings_and_the_content_hash(tmp_path: Path, stub: ThreadedStub) -> None:
    with workspace(tmp_path, stub.base_url) as ws:
        ids = {v.name: v.id for v in ws.declared_versions("help")}
        assert len(set(ids.values())) == 3  # k and mode are part of the id
        content = next(v for v in ws.declared_versions("help") if v.name == "top1").content
        assert content["steps"][0]["knowledge_sha256"] == ws.store.knowledge_hash("help")
        (tmp_path / "docs" / "ship.md").write_text("# 배송\n\n이틀 걸립니다.\n", encoding="utf-8")
        add_paths(ws.store, "help", [tmp_path / "docs"])
        after = {v.name: v.id for v in ws.declared_versions("help")}
        assert all(after[name] != ids[name] for name in ids)  # new documents: new versions


def test_a_missing_knowledge_base_is_an_error_outcome_not_a_crash(tmp_path: Path, stub: ThreadedStub) -> None:
    with workspace(tmp_path, stub.base_url) as ws:
        step = Step.model_validate({"name": "find", "retrieve": {"knowledge": "nope"}})
        v = ws.one_step_version("help", "probe", step)
        outcome = run(ws, v, {"input": "x"})
        assert outcome.status == "error" and "no knowledge base 'nope'" in (outcome.error or "")


def test_a_retrieve_step_takes_nothing_else() -> None:
    with pytest.raises(ValidationError, match="retrieve step takes only"):
        Step.model_validate({"retrieve": {"knowledge": "help"}, "prompt": "x"})
    with pytest.raises(ValidationError):
        Step.model_validate({"retrieve": {"knowledge": "help", "mode": "fuzzy"}})


def test_cite_names_the_chunks(tmp_path: Path, stub: ThreadedStub) -> None:
    from andon.citation import citation_markdown

    with workspace(tmp_path, stub.base_url) as ws:
        top2 = next(v for v in ws.declared_versions("help") if v.name == "top2")
        record = run(ws, top2, {"input": "환불 기간"}).to_record()
        ids = record.steps[0]["parsed"]["chunk_ids"]
        card = citation_markdown(record, "en")
        content = ws.store.knowledge_hash("help")[:12]
        assert f"Chunks retrieved by find from help (content {content}): `{ids[0]}`" in card
