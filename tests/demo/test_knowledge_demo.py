"""The demo's support chatbot: the help centre it writes as HWPX/DOCX/PDF/HTML/HWP reads back through our
parsers with its headings, pages and Korean text; its cases name their answers; ``andon demo --knowledge``
ingests, evaluates and prints the comparison (English and Korean) with the stored figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.knowledge.makers import HANCOM_STYLES, hwp_bytes

from andon.demo import knowledge as kd
from andon.demo.knowledge_corpus import ARTICLES, documents, questions
from andon.demo.knowledge_files import (
    FORMATS,
    hwp_fixture,
    hwp_paragraphs,
    pdf_bytes,
    write_corpus,
)
from andon.evals.retrieval import GRADER
from andon.knowledge.parsers import parse_file
from andon.workspace import Workspace


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("help")
    paths = write_corpus(folder)
    return dict(zip(ARTICLES, paths, strict=True))


def test_corpus_is_written_in_every_format_and_kept_on_a_rerun(corpus: dict[str, Path]) -> None:
    assert {p.suffix for p in corpus.values()} == {".hwpx", ".docx", ".pdf", ".html", ".hwp"}
    assert [p.name for p in corpus.values()] == list(FORMATS.values())
    edited = corpus["chat.md"]
    before = edited.read_bytes()
    edited.write_bytes(before + b"<!-- edited -->")
    write_corpus(edited.parent)  # the user's edit stays: the next demo ingests it
    assert edited.read_bytes() == before + b"<!-- edited -->"
    edited.write_bytes(before)


@pytest.mark.parametrize("article", list(ARTICLES))
def test_each_file_reads_back_with_its_korean_text_and_structure(corpus: dict[str, Path], article: str) -> None:
    path = corpus[article]
    parsed = parse_file(path, path.read_bytes())
    markdown, spans = parsed.layout()
    title, sections = ARTICLES[article]
    expected_parser = path.suffix.lstrip(".")
    assert parsed.parser == expected_parser
    for _, sentences, _, _ in sections:
        for sentence in sentences:  # every sentence, whole (the PDF wraps lines at spaces only)
            assert sentence in _words(markdown), (path.name, sentence)
    if expected_parser in {"hwpx", "docx", "html", "hwp"}:
        # headings: the title at level 1, each section at level 2 under it
        assert parsed.structure()["sections"] == [[title]] + [[title, h] for h, _, _, _ in sections]
        body = [s for s in spans if s.block.kind == "paragraph"]
        assert [s.section for s in body] == [(title, h) for h, _, _, _ in sections]
    elif expected_parser == "pdf":
        # one section per page: each section's text carries its page number
        assert parsed.pages == len(sections) and not parsed.pages_without_text
        for number, (heading, sentences, _, _) in enumerate(sections, start=1):
            (block,) = [s.block for s in spans if sentences[0] in _words(s.block.text)]
            assert block.page == number and _words(block.text).startswith(
                (f"{title} " if number == 1 else "") + heading
            )
    if path.suffix == ".html":
        for dropped in ("고객센터 홈", "analytics", "무엇이든", "도움이 되었나요"):
            assert dropped not in markdown


def test_the_shipped_hwp_is_what_its_readme_says_made_it() -> None:
    readme = (hwp_fixture("refund.md").parent / "README.md").read_text(encoding="utf-8")
    assert "hwp_bytes(hwp_paragraphs('refund.md'), styles=HANCOM_STYLES)" in readme
    assert hwp_fixture("refund.md").read_bytes() == hwp_bytes(hwp_paragraphs("refund.md"), styles=HANCOM_STYLES)


HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
WORD = st.text(st.one_of(HANGUL, st.sampled_from("0123456789%원.,?")), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(WORD, min_size=1, max_size=12).map(" ".join), min_size=1, max_size=6))
def test_pdf_writer_text_layer_round_trips_through_pypdf(lines: list[str]) -> None:
    data = pdf_bytes([[(11, line) for line in lines]])
    parsed = parse_file(Path("x.pdf"), data)
    assert parsed.pages == 1
    assert _words(parsed.markdown()) == _words(" ".join(lines))


def test_cases_name_one_answer_sentence_each_and_one_answered_question_per_format() -> None:
    cases = kd.cases()
    assert len(cases) == len(questions()) == 32
    assert len({c["id"] for c in cases}) == 32
    texts = {name: _words(text) for name, text in documents().items()}
    for case in cases:
        (entry,) = case["relevant"]
        holding = [name for name, text in texts.items() if entry["quote"] in text]
        assert holding == [case["tags"][0].removeprefix("article:") + ".md"], case["id"]
        assert entry["quote"] == case["expected"]
    answered = [c for c in cases if kd.ANSWERED in c["tags"]]
    formats = [next(t for t in c["tags"] if t.startswith("format:")) for c in answered]
    assert sorted(formats) == sorted({f"format:{Path(n).suffix[1:]}" for n in FORMATS.values()})


def test_top_chunk_cites_the_first_chunk_or_says_nothing_was_found() -> None:
    assert kd.top_chunk({"chunks": [{"text": "가"}, {"text": "나"}]}) == "가 [1]"
    assert kd.top_chunk({"chunks": []}) == kd.NOT_FOUND


def test_the_section_goes_before_the_reports_footer() -> None:
    page = "<html><main><section>a</section><footer>f</footer></main></html>"
    assert kd.add_to_page(page, "<section>k</section>") == (
        "<html><main><section>a</section><section>k</section><footer>f</footer></main></html>"
    )
    assert kd.add_to_page("<p>x</p>", "<s>") == "<p>x</p><s>"


def _demo(path: Path, language: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": language, "COLUMNS": "250"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", "demo", "--path", str(path), "--knowledge", *args],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip


def _hit_counts(root: Path, feature: str) -> dict[str, tuple[int, int]]:
    """version → (questions whose answer sentence was retrieved, questions), from the stored results."""
    with Workspace.open(root) as ws:
        run = ws.store.list_runs(feature)[0]
        cells = list(ws.store.iter_run_results(run.id))
    out: dict[str, tuple[int, int]] = {}
    for version in kd.VERSIONS:
        mine = [c for c in cells if c["version_name"] == version]
        hits = 0
        for cell in mine:
            (grade,) = [g for g in cell["grades"] if g["grader"] == GRADER]
            hits += grade["figures"]["hit_rate"] == 1.0
        out[version] = (hits, len(mine))
    return out


@pytest.mark.parametrize(
    ("language", "hit_label", "verdict_word"), [("en", "Hit rate@3", "hit rate"), ("ko", "적중률@3", "적중률")]
)
def test_andon_demo_knowledge_ingests_evaluates_and_prints_the_comparison(
    tmp_path: Path, language: str, hit_label: str, verdict_word: str
) -> None:
    # 20 questions: the first five articles, so every file format is asked about
    result = _demo(tmp_path / "demo", language, "--answers", "0", "--limit", "20")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    out = result.stdout
    root = tmp_path / "demo" / kd.FOLDER
    assert sorted(p.name for p in (root / "docs").iterdir()) == sorted(FORMATS.values())
    assert "help-fixed" in out and "help-structured" in out and "30" in out  # chunks of the fixed base
    # The printed hit rates are the stored results': hits / questions per version.
    counts = _hit_counts(root, kd.SEARCH_FEATURE)
    row = next(line for line in out.splitlines() if hit_label in line)
    printed = re.findall(r"([\d.]+)% \[", row)
    assert len(printed) == 2
    for (hits, n), value in zip(counts.values(), printed, strict=True):
        assert n == 20 and float(value) == pytest.approx(100 * hits / n, abs=0.05)
    assert verdict_word in out and "p = " in out
    assert "hwpx:" in out and "hwp:" in out  # the hits per file format
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "v2-structured" in html and "trade-1" in html
    if language == "ko":
        return
    # A second run ingests nothing new.
    again = _demo(tmp_path / "demo", language, "--answers", "0", "--limit", "2")
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.search(r"(0 files added, 8 unchanged|파일 0개 추가, 8개 변경 없음)", again.stdout)


@pytest.mark.local_model
def test_andon_demo_knowledge_has_the_model_answer_and_reports_it(tmp_path: Path) -> None:
    result = _demo(tmp_path / "demo", "en", "--answers", "1", "--limit", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    root = tmp_path / "demo" / kd.FOLDER
    with Workspace.open(root) as ws:
        (run,) = ws.store.list_runs(kd.FEATURE)
        cells = list(ws.store.iter_run_results(run.id))
    assert sorted(c["version_name"] for c in cells) == sorted(kd.VERSIONS)
    assert all(c["status"] == "ok" and c["case_id"] == "trade-1" for c in cells)
    assert "The chatbot's answers (1 questions)" in result.stdout
    assert "Answers close to the help-centre sentence" in result.stdout
    assert (root / "answers.html").is_file()
