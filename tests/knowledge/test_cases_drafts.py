"""``andon knowledge cases``: one case per chunk drafted by the model (the loopback stub), its ``relevant:``
quoting the source chunk; drafts wait beside the dataset, refused by the loader, until a person accepts them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from bench.stub import Scripted
from tests.support.improve_fixtures import andon
from tests.support.threaded_stub import ThreadedStub

from andon.errors import ConfigError, NotFoundError
from andon.evals.dataset import load_dataset
from andon.evals.retrieval import matches, parse_relevant
from andon.evals.suggest_cases import drafts_path, read_drafts
from andon.knowledge import add_paths
from andon.knowledge.drafts import accept_knowledge_drafts, adraft_cases, pick_chunks, split_model
from andon.store.knowledge import KnowledgeChunk
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

DOCS = {
    "account.md": "# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다. "
    "탈퇴하면 거래 내역과 채팅 기록이 모두 지워집니다.\n",
    "refund.md": "# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다. "
    "환불 금액은 결제한 수단으로 사흘 안에 돌려드립니다.\n",
    "ship.md": "# 배송\n\n제주 지역은 배송이 나흘 걸립니다. 반품 배송비는 단순 변심이면 고객이 모두 부담합니다.\n",
}


def answer(question: str, reply: str, evidence: str) -> Scripted:
    return Scripted(content=json.dumps({"question": question, "answer": reply, "evidence": evidence}))


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


@pytest.fixture
def root(tmp_path: Path, stub: ThreadedStub) -> Path:
    config = {
        "andon": 1,
        "name": "cases-test",
        "providers": {
            "stub": {"type": "openai", "base_url": stub.base_url, "api_key": "sk-stub", "model": "stub-model",
                     "max_retries": 0}
        },
    }  # fmt: skip
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    with Workspace.open(tmp_path) as ws:
        add_paths(ws.store, "help", [docs], chunker={"name": "markdown", "size": 400})
    return tmp_path


def test_drafts_quote_their_chunk_and_wait_until_accepted(root: Path, stub: ThreadedStub) -> None:
    out = root / "data" / "help-cases.yaml"
    stub.program(
        answer(
            "비밀번호는 어디서 바꿔요?", "설정 메뉴에서 바꿀 수 있습니다.", "설정 메뉴에서  비밀번호를 바꿀 수 있습니다"
        ),
        answer("환불은 언제까지 돼요?", "구매 후 7일 이내입니다.", "구매 후 일주일 이내"),  # not in the chunk
        answer("", "질문이 없는 답", "제주 지역은"),  # no question: dropped
    )
    with Workspace.open(root) as ws:
        result = asyncio.run(adraft_cases(ws, "help", out, count=3, provider="stub"))
        chunks = {c.id: c for c in ws.store.knowledge_chunks("help")}
        output = ws.store.get_output(result.drafts[0]["suggested_by"])
    assert result.path == drafts_path(out) and not out.exists()  # nothing is a case until a person accepts it
    assert len(result.drafts) == 2 and len(result.dropped) == 1 and result.quoted == 1
    pw, refund = result.drafts
    assert (
        pw["vars"] == {"question": "비밀번호는 어디서 바꿔요?"} and pw["expected"] == "설정 메뉴에서 바꿀 수 있습니다."
    )
    assert pw["relevant"] == [{"quote": "설정 메뉴에서 비밀번호를 바꿀 수 있습니다"}]  # whitespace as in the chunk
    assert refund["relevant"] == [{"section": "refund.md › 환불"}]  # the evidence was not in the chunk
    for draft in result.drafts:
        assert draft["draft"] is True and draft["knowledge"] == "help" and "knowledge-draft" in draft["tags"]
        source = chunks[draft["source_chunk"]]
        record = {"id": source.id, "source": source.source_path, "section": source.section, "text": source.text}
        assert all(matches(entry, record) for entry in parse_relevant(draft["relevant"], "t"))
    assert output.context is not None
    assert {k: output.context[k] for k in ("role", "knowledge", "chunk")} == {
        "role": "knowledge-cases", "knowledge": "help", "chunk": pw["source_chunk"]
    }  # fmt: skip
    sent = [json.dumps(r.body, ensure_ascii=False) for r in stub.received]
    assert len(sent) == 3 and all("You write evaluation cases" in s for s in sent)
    assert "탈퇴하면 거래 내역과" in sent[0] and "account.md › 계정" in sent[0]
    with pytest.raises(ConfigError, match="draft"):
        load_dataset(result.path, root)  # a drafts file cannot be evaluated by mistake

    # Again: the drafted chunks are left out, only the one that gave nothing is asked again.
    stub.program(
        answer("반품 배송비는 누가 내요?", "단순 변심이면 고객입니다.", "반품 배송비는 단순 변심이면 고객이 부담합니다")
    )
    with Workspace.open(root) as ws:
        again = asyncio.run(adraft_cases(ws, "help", out, count=3, provider="stub"))
    assert len(again.drafts) == 1 and again.drafts[0]["source_chunk"] == result.dropped[0]
    assert len(read_drafts(result.path)) == 3

    accepted = accept_knowledge_drafts(out, [pw["id"], "help-nope"])
    assert accepted.accepted == [pw["id"]] and accepted.unknown == ["help-nope"]
    (case,) = load_dataset(out, root).cases
    assert case.id == pw["id"] and case.relevant == ({"quote": "설정 메뉴에서 비밀번호를 바꿀 수 있습니다"},)
    assert case.expected == "설정 메뉴에서 바꿀 수 있습니다." and "account.md › 계정" in str(case.reason)
    assert [d["id"] for d in read_drafts(result.path)] == [refund["id"], again.drafts[0]["id"]]


def test_the_cli_drafts_and_accepts(root: Path, stub: ThreadedStub) -> None:
    stub.program(
        answer("비밀번호 변경", "설정 메뉴", "비밀번호를 바꿀 수 있습니다"),
        answer("환불 기한", "7일", "7일 이내에 환불을 요청할 수 있습니다"),
    )
    drafted = andon(
        "knowledge", "cases", "help", "--model", "stub:stub-model", "--count", "2", "--out", "cases.jsonl",
        "--var", "q", "--json", cwd=root,
    )  # fmt: skip
    assert drafted.returncode == 0, drafted.stdout + drafted.stderr
    data = json.loads(drafted.stdout)
    assert data["path"].endswith("cases.drafts.jsonl") and [d["vars"] for d in data["drafts"]] == [
        {"q": "비밀번호 변경"}, {"q": "환불 기한"}
    ]  # fmt: skip
    assert all(r.body["model"] == "stub-model" for r in stub.received)
    assert not (root / "cases.jsonl").exists()
    what = andon("knowledge", "cases", "accept", "cases.jsonl", cwd=root)
    assert what.returncode != 0 and "--all" in what.stdout + what.stderr and "Traceback" not in what.stderr
    accepted = andon("knowledge", "cases", "accept", "cases.jsonl", "--all", cwd=root)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "2 cases added" in accepted.stdout
    assert [c.vars for c in load_dataset(root / "cases.jsonl", root).cases] == [
        {"q": "비밀번호 변경"},
        {"q": "환불 기한"},
    ]
    bad = andon("knowledge", "cases", "help", "--model", "stub", "--out", "cases.txt", cwd=root)
    assert bad.returncode != 0 and "--out" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr
    nope = andon("knowledge", "cases", "help", "--model", "nope:x", "--out", "cases.yaml", cwd=root)
    assert nope.returncode != 0 and "--model: no model provider named 'nope'" in nope.stderr, nope.stderr


def test_bad_input_is_named() -> None:
    assert split_model("openai:gpt-4.1:mini") == ("openai", "gpt-4.1:mini")
    assert split_model("stub") == ("stub", None)
    with pytest.raises(ConfigError) as caught:
        split_model(":x")
    assert caught.value.where == "--model"
    with pytest.raises(NotFoundError):
        accept_knowledge_drafts(Path("/nonexistent/cases.yaml"))


def chunk(i: int, text: str) -> KnowledgeChunk:
    return KnowledgeChunk(f"c{i}", 1, "a.md", i, 0, len(text), text, [], {})


def test_chunks_are_picked_evenly_and_stubs_left_out() -> None:
    long = "가" * 50
    chunks = [chunk(i, long if i != 3 else "# 제목") for i in range(10)]
    assert [c.id for c in pick_chunks(chunks, 3, set())] == ["c0", "c4", "c7"]  # of the 9 usable, every third
    assert [c.id for c in pick_chunks(chunks, 20, {"c0", "c1"})] == ["c2", "c4", "c5", "c6", "c7", "c8", "c9"]
