"""Edge cases drafted by a model (the loopback stub) stay drafts until accepted; consent keeps examples back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bench.stub import Scripted
from tests.support.improve_fixtures import FEATURE, N_CASES, andon, case_text, write_improve_workspace
from tests.support.threaded_stub import ThreadedStub

from andon.errors import ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.suggest_cases import accept_drafts, asuggest_cases, drafts_path, read_drafts, reject_drafts
from andon.store.records import ReviewItem, TraceRecord
from andon.workspace import Workspace

pytestmark = pytest.mark.timeout(300)

PROPOSED = {
    "cases": [
        {
            "vars": {"text": "공일공 일이삼사 오륙칠팔로 연락", "rule": "reject"},
            "label": "reject",
            "reason": "숫자를 글자로 씀",
        },
        {
            "vars": {"text": "010 1234 5678 아님, 가격 10,000원", "rule": "approve"},
            "label": "approve",
            "reason": "가격",
        },
        {"vars": {"text": "변수가 하나 빠진 케이스"}, "label": "reject", "reason": "rule 없음"},
    ]
}


@pytest.fixture
def stub() -> Iterator[ThreadedStub]:
    with ThreadedStub(echo=True) as server:
        yield server


def _suggest_requests(stub: ThreadedStub) -> list[str]:
    bodies = [json.dumps(r.body, ensure_ascii=False) for r in stub.received]
    return [b for b in bodies if "You write test cases for an AI feature" in b]


def test_drafts_wait_beside_the_dataset_until_accepted(tmp_path: Path, stub: ThreadedStub) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    dataset = root / "data" / "cases.jsonl"
    before = dataset.read_bytes()
    with Workspace.open(root) as ws:
        stub.program(Scripted(content=json.dumps(PROPOSED, ensure_ascii=False)))
        result = asyncio.run(asuggest_cases(ws, FEATURE, "전화번호를 글자로 쓴 경우", n=3))
        assert [d["label"] for d in result.drafts] == ["reject", "approve"] and result.dropped == 1
        assert result.path == drafts_path(dataset) == root / "data" / "cases.drafts.jsonl"
        drafts = read_drafts(result.path)
        assert all(d["draft"] is True and d["suggested_by"] == result.output_id for d in drafts)
        assert all(d["policy"] == "전화번호를 글자로 쓴 경우" and "suggested" in d["tags"] for d in drafts)
        assert dataset.read_bytes() == before  # nothing is a case until a person accepts it
        output = ws.store.get_output(result.output_id or "")
        assert output.context["role"] == "suggest" and output.context["feature"] == FEATURE
        (request,) = _suggest_requests(stub)
        assert "전화번호를 글자로 쓴 경우" in request and "approve, reject" in request

        # The same proposal again: drafts are keyed by their inputs, so nothing is drafted twice.
        stub.program(Scripted(content=json.dumps(PROPOSED, ensure_ascii=False)))
        again = asyncio.run(asuggest_cases(ws, FEATURE, "전화번호를 글자로 쓴 경우", n=3))
        assert again.drafts == [] and again.dropped == 3

        first, second = (d["id"] for d in drafts)
        accepted = accept_drafts(ws, FEATURE, [first, "draft-nope"])
        assert accepted.accepted == [first] and accepted.unknown == ["draft-nope"]
        loaded = load_dataset(dataset, root)
        assert len(loaded.cases) == N_CASES + 1
        new = loaded.cases[-1]
        assert (
            new.id == first
            and new.label == "reject"
            and new.tags == ("suggested",)
            and new.reason == "숫자를 글자로 씀"
        )
        assert [d["id"] for d in read_drafts(result.path)] == [second]
        assert reject_drafts(ws, FEATURE, [second]) == ([second], [])
        assert read_drafts(result.path) == []
        with pytest.raises(ConfigError, match="--n must be between"):
            asyncio.run(asuggest_cases(ws, FEATURE, "x", n=0))


def test_a_refused_users_case_is_never_an_example(tmp_path: Path, stub: ThreadedStub) -> None:
    refused, agreed = "rev_s1", "rev_s2"
    leading = [
        {
            "id": case_id,
            "vars": {"text": case_text(case_id), "rule": "reject"},
            "label": "reject",
            "tags": ["from-review"],
        }
        for case_id in (refused, agreed)
    ]
    root = write_improve_workspace(tmp_path / "ws", stub.base_url, leading_cases=leading)
    with Workspace.open(root) as ws:
        for case_id, user in ((refused, "u-no"), (agreed, "u-yes")):
            trace = TraceRecord(
                id=f"trc_{case_id}", feature=FEATURE, route="invoke", status="ok", input_mode="full",
                input={"text": case_text(case_id)}, input_hash="h", created_at=datetime.now(UTC), user_id=user,
            )  # fmt: skip
            ws.store.save_traces(
                [trace], review_items=[ReviewItem(id=case_id, feature=FEATURE, reason="policy", trace_id=trace.id)]
            )
        ws.store.set_consent("user", "u-yes", cases=True, improve=True)  # u-no never chose: off by default
        stub.program(Scripted(content=json.dumps(PROPOSED, ensure_ascii=False)))
        result = asyncio.run(asuggest_cases(ws, FEATURE, "연락처", n=2))
    (request,) = _suggest_requests(stub)
    assert case_text(refused) not in request and case_text(agreed) in request
    assert result.withheld_ids == [refused]


def test_the_cases_commands_in_english_and_korean(tmp_path: Path, stub: ThreadedStub) -> None:
    root = write_improve_workspace(tmp_path / "ws", stub.base_url)
    stub.program(Scripted(content=json.dumps(PROPOSED, ensure_ascii=False)))
    shown = andon("cases", "suggest", FEATURE, "--policy", "연락처", "--n", "3", cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert "2 draft case(s) written to" in shown.stdout and "andon cases accept moderate" in shown.stdout
    listed = andon("--lang", "ko", "cases", "drafts", FEATURE, cwd=root)
    assert listed.returncode == 0 and "어려운 이유" in listed.stdout and "숫자를 글자로 씀" in listed.stdout
    refused = andon("cases", "accept", FEATURE, cwd=root)
    assert refused.returncode == 2 and "name the draft ids to accept, or --all" in refused.stderr
    accepted = andon("--lang", "ko", "cases", "accept", FEATURE, "--all", cwd=root)
    assert accepted.returncode == 0, accepted.stderr
    assert "케이스 2개를" in accepted.stdout and "더했습니다" in accepted.stdout
    assert len(load_dataset(root / "data" / "cases.jsonl", root).cases) == N_CASES + 2
    none = andon("cases", "drafts", FEATURE, cwd=root)
    assert "No drafts for moderate" in none.stdout
