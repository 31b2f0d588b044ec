"""``andon compare`` across chunkers: the retrieval figures side by side, each with a paired test (sign-flip
permutation for recall/precision/MRR/nDCG, McNemar for the hit rate), by hand and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from andon.evals.compare import compare_cells
from andon.evals.model import CellResult
from andon.evals.retrieval import parse_relevant, retrieval_grade

FOUND = [{"id": "x", "source": "docs/a.md", "section": [], "text": ""}]
SECOND = [{"id": "y", "source": "docs/b.md", "section": [], "text": ""}, *FOUND]
MISSED = [{"id": "y", "source": "docs/b.md", "section": [], "text": ""}]
RELEVANT = parse_relevant(["a.md"], "t")


def cells(version: str, chunks_per_case: list[list[dict[str, object]]], *, graded: bool = True) -> list[CellResult]:
    return [
        CellResult(run_id="r", version_id=version, version_name=version, case_id=f"c{i}", repeat=0, output_id=None,
                   status="ok", score=1.0, passed=True,
                   grades=[retrieval_grade(chunks, RELEVANT, 2)] if graded else [])
        for i, chunks in enumerate(chunks_per_case)
    ]  # fmt: skip


def test_retrieval_deltas_by_hand() -> None:
    # 10 cases. A: 4 found at rank 1, 6 missed. B: the same 4, plus 4 found at rank 2, plus 2 at rank 1.
    a = cells("fixed", [FOUND] * 4 + [MISSED] * 6)
    b = cells("semantic", [FOUND] * 4 + [SECOND] * 4 + [FOUND] * 2)
    cmp = compare_cells("fixed", "fixed", a, "semantic", "semantic", b)
    deltas = {d.name: d for d in cmp.deltas}
    recall, hit, mrr = deltas["retrieval_recall"], deltas["retrieval_hit_rate"], deltas["retrieval_mrr"]
    assert (recall.a, recall.b, recall.delta) == pytest.approx((0.4, 1.0, 0.6))
    # six cases improve, none gets worse: the exact sign-flip test has 2 of 2^6 patterns as extreme
    assert recall.p_value == pytest.approx(2 / 64) and recall.method == "paired bootstrap; sign-flip permutation"
    assert recall.low is not None and recall.high is not None and recall.low <= 0.6 <= recall.high
    # hit rate: 6 discordant pairs all for B, McNemar exact p = 2 * 0.5^6
    assert (hit.a, hit.b, hit.p_value, hit.method) == pytest.approx((0.4, 1.0, 2 / 64, "Newcombe; McNemar exact"))
    assert mrr.b == pytest.approx((4 + 4 * 0.5 + 2) / 10) and mrr.p_value == pytest.approx(2 / 64)
    assert {"retrieval_precision", "retrieval_ndcg"} <= deltas.keys()


def test_no_retrieval_rows_without_relevant_cases() -> None:
    plain = cells("a", [FOUND] * 3, graded=False)
    cmp = compare_cells("a", "a", plain, "b", "b", cells("b", [FOUND] * 3, graded=False))
    assert not any(d.name.startswith("retrieval_") for d in cmp.deltas)
    # only the cases judged on both sides are paired: here none on A
    mixed = compare_cells("a", "a", plain, "b", "b", cells("b", [FOUND] * 3))
    assert not any(d.name.startswith("retrieval_") for d in mixed.deltas)


RULES = """
def answer(variables):
    chunks = variables["chunks"]
    return chunks[0]["text"] if chunks else "모르겠습니다"
"""
DOCS = {
    "refund.md": "# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다. 환불 금액은 결제한 수단으로 돌려드립니다.\n",
    "account.md": "# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다. 탈퇴하면 거래 내역이 지워집니다.\n",
    "ship.md": "# 배송\n\n제주 지역은 배송이 나흘 걸립니다. 반품 배송비는 고객이 부담합니다.\n",
}
CASES = [
    {"id": "refund", "vars": {"q": "환불 요청 기간"}, "relevant": [{"quote": "7일 이내에 환불을 요청할 수 있습니다"}]},
    {"id": "money", "vars": {"q": "환불 금액 결제 수단"}, "relevant": [{"quote": "결제한 수단으로 돌려드립니다"}]},
    {"id": "pw", "vars": {"q": "비밀번호 바꾸기"}, "relevant": [{"quote": "비밀번호를 바꿀 수 있습니다"}]},
    {"id": "leave", "vars": {"q": "탈퇴 거래 내역"}, "relevant": [{"quote": "거래 내역이 지워집니다"}]},
    {"id": "jeju", "vars": {"q": "제주 배송 기간"}, "relevant": [{"quote": "제주 지역은 배송이 나흘 걸립니다"}]},
    {"id": "fee", "vars": {"q": "반품 배송비 부담"}, "relevant": [{"quote": "반품 배송비는 고객이 부담합니다"}]},
]


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "200"}  # table rows on one line each
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_compare_two_chunkers_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "rag_rules.py").write_text(RULES, encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CASES), "utf-8")
    version = '{{steps: [{{name: find, retrieve: {{knowledge: {kb}, k: 1, mode: bm25, query: "{{{{ q }}}}"}}}}, ' + (
        '{{name: answer, python: "rag_rules:answer"}}]}}'
    )
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: rag
            features:
              help:
                dataset: cases.jsonl
                versions:
                  fixed: {version.format(kb="help-fixed")}
                  sentences: {version.format(kb="help-sentences")}
            """
        ),
        encoding="utf-8",
    )
    # Windows of 24 characters cut every quote; Korean sentences keep each one whole.
    for kb, chunker in (("help-fixed", ["fixed", "--size", "24"]), ("help-sentences", ["korean-sentence"])):
        added = andon("knowledge", "add", kb, "docs", "--chunker", *chunker, "--no-embed", cwd=tmp_path)
        assert added.returncode == 0, added.stdout + added.stderr
    run = andon("eval", "help", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    out = andon("compare", "fixed", "sentences", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    deltas = {d["name"]: d for d in json.loads(out.stdout)["deltas"]}
    recall = deltas["retrieval_recall"]
    assert recall["a"] < recall["b"] == 1.0 and recall["p_value"] is not None
    assert deltas["retrieval_hit_rate"]["method"] == "Newcombe; McNemar exact"
    shown = andon("compare", "fixed", "sentences", cwd=tmp_path)
    rows = {line.split("│")[1].strip(): line for line in shown.stdout.splitlines() if line.count("│") > 3}
    assert {"Retrieval recall@k", "Retrieval MRR", "Retrieval nDCG@k", "Retrieval hit rate@k"} <= rows.keys(), (
        shown.stdout
    )
