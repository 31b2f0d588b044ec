"""Retrieval measured through ``andon eval``: cases name what should be found (``relevant:``), the report has
recall, precision, hit rate, MRR and nDCG at the step's k with intervals, and criteria judge them."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from andon.errors import ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.retrieval import Relevant, figures, matches, parse_relevant

RULES = """
def answer(variables):
    chunks = variables["chunks"]
    return (chunks[0]["text"] + " [1]") if chunks else "모르겠습니다"
"""

# Three one-chunk documents. "비밀번호" is only in account.md; for "환불 반품 배송비", ship.md holds all three
# words and refund.md only 환불, so BM25 ranks ship.md first and refund.md second.
DOCS = {
    "refund.md": "# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다.\n",
    "account.md": "# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다.\n",
    "ship.md": "# 배송\n\n제주 지역은 배송이 나흘 걸립니다. 환불 상품의 반품 배송비는 고객이 부담합니다.\n",
}
CASES: list[dict[str, Any]] = [
    # retrieved [account]: recall 1, precision 1/2, hit, RR 1, nDCG 1
    {"id": "pw", "vars": {"q": "비밀번호"}, "relevant": ["account.md"]},
    # retrieved [ship, refund]: recall 1, precision 1/2, hit, RR 1/2, nDCG 1/log2(3)
    {"id": "refund", "vars": {"q": "환불 반품 배송비"}, "relevant": [{"document": "refund.md"}]},
    # retrieved [account]: nothing relevant; every figure 0
    {"id": "miss", "vars": {"q": "비밀번호"}, "relevant": [{"quote": "7일  이내"}]},
    # retrieved [ship, refund], both relevant: every figure 1
    {"id": "both", "vars": {"q": "환불 반품 배송비"}, "relevant": ["ship.md › 배송", {"quote": "7일 이내에 환불"}]},
    # no relevant: answered and graded, but not part of the retrieval figures
    {"id": "unlabelled", "vars": {"q": "비밀번호"}},
]
EXPECTED = {
    "retrieval_recall": (1 + 1 + 0 + 1) / 4,
    "retrieval_precision": (0.5 + 0.5 + 0 + 1) / 4,
    "retrieval_hit_rate": 3 / 4,
    "retrieval_mrr": (1 + 0.5 + 0 + 1) / 4,
    "retrieval_ndcg": (1 + 1 / math.log2(3) + 0 + 1) / 4,
}


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "rag_rules.py").write_text(RULES, encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    (tmp_path / "cases.jsonl").write_text(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in CASES) + "\n", encoding="utf-8"
    )
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: rag
            features:
              help:
                dataset: cases.jsonl
                criteria:
                  - retrieval_recall >= 0.7
                  - retrieval_mrr >= 0.7
                graders:
                  - type: citations
                versions:
                  top2:
                    steps:
                      - {name: find, retrieve: {knowledge: help, k: 2, mode: bm25, query: "{{ q }}"}}
                      - {name: answer, python: "rag_rules:answer"}
            """
        ),
        encoding="utf-8",
    )
    added = andon("knowledge", "add", "help", "docs", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    return tmp_path


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_eval_reports_retrieval_figures_with_intervals_and_judges_criteria(workspace: Path) -> None:
    out = andon("eval", "help", "--json", cwd=workspace)
    assert "Traceback" not in out.stderr, out.stderr
    data = json.loads(out.stdout)
    (summary,) = data["summaries"]
    metrics = summary["metrics"]
    for name, value in EXPECTED.items():
        assert metrics[name]["value"] == pytest.approx(value), name
        assert metrics[name]["n"] == 4  # the unlabelled case is not counted
        assert metrics[name]["low"] <= value <= metrics[name]["high"], name
    low, high = wilson(3, 4)
    assert metrics["retrieval_hit_rate"]["low"] == pytest.approx(low)
    assert metrics["retrieval_hit_rate"]["high"] == pytest.approx(high)
    criteria = {c["metric"]: c for c in summary["criteria"]}
    assert criteria["retrieval_recall"]["passed"] and not criteria["retrieval_mrr"]["passed"]  # 0.625 < 0.7
    assert data["gate_passed"] is False
    # The per-case grade says what was found, and never moves the case's own score (weight 0).
    cells = {c["case_id"]: c for c in data["cells"]}
    grade = next(g for g in cells["refund"]["grades"] if g["grader"] == "retrieval")
    assert grade["weight"] == 0 and grade["figures"]["mrr"] == pytest.approx(0.5) and grade["figures"]["k"] == 2
    assert grade["reason"] == "retrieval: 1 of 1 relevant found in the first 2, first at rank 2"
    assert cells["miss"]["passed"] and cells["miss"]["score"] == 1.0  # its answer cites [1], a retrieved chunk
    assert not any(g["grader"] == "retrieval" for g in cells["unlabelled"]["grades"])
    # The chunks shown to the answer step are in its provenance, text and all.
    steps = cells["pw"]["provenance"]["steps"]
    (shown,) = steps[0]["parsed"]["chunks"]
    assert shown["source"] == "docs/account.md" and "비밀번호" in shown["text"] and shown["section"] == ["계정"]


def test_gate_exit_code_follows_the_retrieval_criteria(workspace: Path) -> None:
    failing = andon("eval", "help", "--gate", cwd=workspace)
    assert failing.returncode == 1, failing.stderr
    yaml = (
        (workspace / "andon.yaml").read_text(encoding="utf-8").replace("retrieval_mrr >= 0.7", "retrieval_mrr >= 0.6")
    )
    (workspace / "andon.yaml").write_text(yaml, encoding="utf-8")
    passing = andon("eval", "help", "--gate", cwd=workspace)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    shown = " ".join(passing.stdout.split())  # the console wraps long lines
    assert "Retrieval recall@k" in shown and "Retrieval MRR" in shown  # among the key figures
    assert "Retrieval recall@k" in (workspace / "andon-summary.md").read_text(encoding="utf-8")


def test_a_bad_relevant_entry_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("- vars: {q: x}\n  relevant: [ok.md]\n- vars: {q: y}\n  relevant: [{page: 3}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_dataset(path, tmp_path)
    assert caught.value.where == f"{path}:3: relevant[0]"
    assert "chunk, document, section or quote" in (caught.value.hint or "")


def test_csv_relevant_column_splits_on_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text('q,relevant\nx,"a.md; b.md › 환불"\ny,\n', encoding="utf-8")
    first, second = load_dataset(path, tmp_path).cases
    assert first.relevant == ("a.md", "b.md › 환불") and second.relevant == ()


CHUNK = {
    "id": "0123456789abcdef",
    "source": "docs/규정집.hwp",
    "section": ["제3장", "제12조"],
    "text": "연차는 15일  입니다.",
}


@pytest.mark.parametrize(
    ("entry", "hit"),
    [
        (Relevant("chunk", "01234567"), True),  # a prefix of the id
        (Relevant("chunk", "0123456789abcdef0"), False),
        (Relevant("document", "규정집.hwp"), True),
        (Relevant("document", "docs/규정집.hwp"), True),
        (Relevant("document", "정집.hwp"), False),  # a file name, not any tail of one
        (Relevant("section", "규정집.hwp › 제3장"), True),
        (Relevant("section", "제3장 > 제12조"), True),
        (Relevant("section", "제12조"), False),  # a section path starts at the top
        (Relevant("quote", "15일 입니다"), True),  # whitespace-insensitive
        (Relevant("quote", "20일"), False),
        (Relevant("any", "규정집.hwp › 제3장 › 제12조"), True),
        (Relevant("any", "연차는"), False),  # a bare string is never a quote
    ],
)
def test_what_an_entry_matches(entry: Relevant, hit: bool) -> None:
    assert matches(entry, CHUNK) is hit


def test_figures_count_each_entry_once_and_slots_per_chunk() -> None:
    docs = [{"id": f"c{i}", "source": src, "section": [], "text": ""} for i, src in enumerate(["x", "a", "a", "b"])]
    relevant = parse_relevant(["a", "b", "z"], "t")
    got = figures(docs, relevant, 4)
    # a at ranks 2 and 3 (counted once for recall and nDCG, twice as slots), b at rank 4, z never
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["precision"] == pytest.approx(3 / 4)
    assert got["mrr"] == pytest.approx(1 / 2) and got["hit_rate"] == 1.0
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got["ndcg"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert figures(docs, relevant, 1) == {"recall": 0.0, "precision": 0.0, "hit_rate": 0.0, "mrr": 0.0, "ndcg": 0.0}


def test_repeats_give_cluster_intervals_and_the_grade_reads_in_korean() -> None:
    from andon.config.schema import FeatureConfig
    from andon.evals.model import CellResult
    from andon.evals.retrieval import retrieval_grade
    from andon.evals.summarize import Conversion, summarize_version

    found = [{"id": "x", "source": "docs/a.md", "section": [], "text": ""}]
    missed = [{"id": "y", "source": "docs/b.md", "section": [], "text": ""}]
    relevant = parse_relevant(["a.md"], "t")
    cells = [
        CellResult(run_id="r", version_id="v", version_name="v", case_id=f"c{i}", repeat=r, output_id=None,
                   status="ok", score=1.0, passed=True,
                   grades=[retrieval_grade(found if (i + r) % 3 else missed, relevant, 1)])
        for i in range(12) for r in range(2)
    ]  # fmt: skip
    summary = summarize_version("v", "v", cells, {}, FeatureConfig(), Conversion("USD", {}))
    hits = sum(1 for i in range(12) for r in range(2) if (i + r) % 3)
    for name in ("retrieval_recall", "retrieval_hit_rate", "retrieval_mrr", "retrieval_ndcg", "retrieval_precision"):
        metric = summary.metrics[name]
        assert metric.value == pytest.approx(hits / 24) and metric.n == 24, name
        assert metric.low is not None and metric.high is not None and metric.low < metric.value < metric.high
    assert summary.metrics["pass_rate"].value == 1.0  # the weight-0 grade never fails a case
    miss = retrieval_grade(missed, relevant, 1)
    assert miss.reason_in("ko") == "검색: 처음 1개에서 관련 항목 1개 중 하나도 못 찾음"
