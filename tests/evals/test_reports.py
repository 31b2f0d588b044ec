"""Reports of a run: HTML, JUnit XML, Markdown, JSON/CSV exports and terminal tables, in English and Korean."""

from __future__ import annotations

import csv
import dataclasses
import html
import importlib.util
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from tests.support.report_fixtures import (
    CRITERIA,
    FORMULA_REPLY,
    MISSING_PHOTO_CASE,
    REMOTE_IMAGE,
    SCRIPT,
    SYSTEM_PROMPT,
    _png,
    build_report,
)

from andon.evals.model import RunReport
from andon.evals.report import _format as fmt
from andon.evals.report import (
    _images,
    _svg,
    junit_xml,
    print_comparison,
    print_summary,
    read_json,
    render_html,
    report_from_dict,
    report_to_dict,
    summary_markdown,
    write_csv,
    write_json,
    write_junit,
)
from andon.evals.report import _view as view
from andon.evals.report.export import CSV_COLUMNS, ReportFormatError
from andon.evals.report.markdown import cell as md_cell

HAS_PILLOW = importlib.util.find_spec("PIL") is not None


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dataset")


@pytest.fixture(scope="module")
def report(dataset_dir: Path) -> RunReport:
    return build_report(dataset_dir=dataset_dir)


@pytest.fixture(scope="module")
def page(report: RunReport) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def page_ko(report: RunReport) -> str:
    return render_html(report, "ko")


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<section id="{anchor}">')
    return page[start : page.index("</section>", start)]


class _Balance(HTMLParser):
    """Checks that every non-void element is closed in order."""

    VOID: ClassVar[set[str]] = {"meta", "img", "br", "input", "line", "rect", "link", "hr", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


# --- the fixture itself ------------------------------------------------------------------------------------


def test_fixture_is_a_realistic_run(report: RunReport) -> None:
    assert len(report.summaries) == 2 and len(report.cases) == 30
    assert len(report.cells) == 2 * 30 * 3
    assert any(c.status == "error" for c in report.cells)
    assert any(c.cached for c in report.cells)
    assert any(not c.passed for s in report.summaries for c in s.criteria)
    assert any(c.passed for s in report.summaries for c in s.criteria)
    assert any(c.judged_on == "lower bound" for s in report.summaries for c in s.criteria)
    assert report.comparison is not None and report.comparison.flipped
    assert report.comparison.verdict == "better"


# --- HTML --------------------------------------------------------------------------------------------------


def test_html_is_one_balanced_document_in_the_asked_language(page: str, page_ko: str) -> None:
    for text, lang in ((page, "en"), (page_ko, "ko")):
        assert text.startswith("<!DOCTYPE html>")
        assert f'<html lang="{lang}">' in text
        checker = _Balance()
        checker.feed(text)
        checker.close()
        assert checker.problems == [] and checker.stack == []


def test_html_loads_nothing_from_elsewhere(page: str) -> None:
    remote = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
    assert remote.findall(page) == []
    assert "@import" not in page and "url(" not in page
    assert "<link" not in page
    # The remote image a case names is shown as text, never fetched.
    assert html.escape(REMOTE_IMAGE) in page
    assert f"src='{REMOTE_IMAGE}" not in page and f'src="{REMOTE_IMAGE}' not in page


def test_html_escapes_untrusted_output(page: str, report: RunReport) -> None:
    assert any(SCRIPT in (c.output_text or "") for c in report.cells)
    assert SCRIPT not in page
    assert html.escape(SCRIPT) in page
    assert page.count("<script") == 1  # only the report's own filter script
    assert "\x0b" not in page and "\x1b" not in page


def test_html_criteria_show_each_result_and_the_strict_bound(page: str, report: RunReport) -> None:
    section = _section(page, "criteria")
    for s in report.summaries:
        for c in s.criteria:
            row = re.search(rf"<tr><td>(.*?)</td><td><code>{re.escape(html.escape(c.text))}</code>", section)
            assert row is not None, c.text
    rows = re.findall(r"<tr><td><span class=\"badge b-(pass|fail)\">.*?</span></td><td><code>(.*?)</code>", section)
    expected = [("pass" if c.passed else "fail", html.escape(c.text)) for s in report.summaries for c in s.criteria]
    assert rows == expected
    assert "judged on lower bound" in section
    for s in report.summaries:
        for reason in s.gate_errors:
            assert html.escape(reason) in section


def test_html_lists_failures_then_errors_then_passes(page: str, report: RunReport) -> None:
    section = _section(page, "cases")
    statuses = re.findall(r"<tr class='st-(\w+)' data-status='\w+'>", section)
    assert len(statuses) == len(report.cases)
    ranks = [view.STATUS_ORDER[s] for s in statuses]
    assert ranks == sorted(ranks)
    assert {"failed", "passed"} <= set(statuses)
    ids = re.findall(r"data-status='\w+'><td>.*?</td><td><code>([^<]+)</code>", section)
    expected = [v.case.id for v in view.case_views(report)]
    assert ids == expected
    # a case whose every cell passed is listed after every case with a failing cell
    failing = {c.case_id for c in report.cells if c.status == "ok" and not c.passed}
    clean = [i for i, case_id in enumerate(ids) if case_id not in failing]
    dirty = [i for i, case_id in enumerate(ids) if case_id in failing]
    assert max(dirty) < min(clean)


def test_html_gives_the_provenance_of_every_output(page: str, report: RunReport) -> None:
    section = _section(page, "cases")
    assert section.count("<details><summary>Provenance of ") == len(report.cells)
    for c in report.cells:
        assert c.output_id is not None and f"Provenance of {c.output_id}</summary>" in section
    assert html.escape(SYSTEM_PROMPT) in section
    for model in ("gpt-4o-mini", "claude-haiku"):
        assert model in section
    assert "&quot;temperature&quot;: 0.7" in section
    # images inside rendered messages are named, not embedded a second time
    assert "iVBORw0KGgoiVBORw0KGgo" not in page
    assert "[image/png, 2 KB data URL]" in section


def test_html_shows_the_comparison_verdict_and_flipped_cases(page: str, report: RunReport) -> None:
    cmp = report.comparison
    assert cmp is not None
    section = _section(page, "comparison")
    line = view.verdict_line(cmp, report.run.currency, "en")
    assert line.startswith("v2 is better than v1 — Pass rate +")
    # c counts cases B fixed and b cases B broke; the line must not swap them
    assert line.endswith(f"McNemar exact p = 0.013 on 30 paired cases ({cmp.mcnemar_c} fixed, {cmp.mcnemar_b} broken)")
    assert (cmp.mcnemar_b, cmp.mcnemar_c) == (3, 14)
    assert f'<div class="verdict v-better">{html.escape(line)}</div>' in section
    assert f"<td class='num'>{cmp.mcnemar_b}</td>" in section and f"<td class='num'>{cmp.mcnemar_c}</td>" in section
    flipped = re.findall(r"<tr><td><code>([^<]+)</code><br><span class=\"badge b-(pass|fail)\">", section)
    assert len(flipped) == len(cmp.flipped)
    kinds = [k for _, k in flipped]
    assert kinds == sorted(kinds, key=lambda k: k == "pass")  # broken (fail) before fixed (pass)
    assert html.escape(FORMULA_REPLY) in section  # outputs side by side


def test_html_sections_for_charts_cost_stability_and_judges(page: str, report: RunReport) -> None:
    assert _section(page, "summary").count("<svg") == 1
    assert _section(page, "latency").count("<svg") == len(report.summaries)
    cost = _section(page, "cost")
    assert "Per 1,000 calls" in cost and "Costs in USD" in cost
    for s in report.summaries:
        assert fmt.money(s.metrics["cost_per_1k_calls"].value, "USD") in cost
        assert fmt.money(s.metrics["cost_per_case"].value, "USD") in cost
    stability = _section(page, "stability")
    assert "pass@3" in stability and "pass^3" in stability
    judges = _section(page, "judges")
    assert "not trusted" in judges and "trusted" in judges
    matrix = _section(page, "classification")
    assert "expected ↓ · predicted →" in matrix and "rgba(19,115,51" in matrix


def test_html_embeds_thumbnails_and_a_placeholder_for_a_missing_photo(page: str, report: RunReport) -> None:
    thumbs = re.findall(r"<img class='thumb' src='data:image/(\w+);base64,", page)
    assert len(thumbs) == len(report.cases) - 1
    assert set(thumbs) == ({"jpeg"} if HAS_PILLOW else {"png"})
    assert page.count("image not embedded") == 1
    missing = _section(page, "cases").split(f"<code>{MISSING_PHOTO_CASE}</code>", 1)[1].split("</tr>", 1)[0]
    assert "image not embedded" in missing


def test_html_without_a_dataset_folder_shows_placeholders(report: RunReport) -> None:
    page = render_html(dataclasses.replace(report, dataset_dir=None))
    assert "<img class='thumb'" not in page
    assert page.count("image not embedded") == len(report.cases)


def test_korean_html_is_translated(page_ko: str, page: str, report: RunReport) -> None:
    assert "평가 보고서: menu-photo-review" in page_ko
    for label in ("성공 기준", "하한으로 판정", "케이스", "출처 기록", "실제로 렌더링된 메시지", "통과율", "나빠짐"):
        assert label in page_ko
    assert report.comparison is not None
    assert html.escape(view.verdict_line(report.comparison, "USD", "ko")) in page_ko
    assert "v1보다 낫습니다" in page_ko
    for english in ("Success criteria", "judged on lower bound", "Provenance of", "Cases that flipped"):
        assert english not in page_ko
    for text in (page, page_ko):
        assert "report." not in re.sub(r"<[^>]+>", "", text), "a catalogue id was not found"


def test_a_large_run_stays_small_enough(tmp_path: Path) -> None:
    big = build_report(n_cases=100, versions=("v1", "v2", "v3"), dataset_dir=tmp_path, seed=5)
    assert len(big.cells) == 900
    page = render_html(big)
    assert len(page.encode("utf-8")) < 5_000_000
    assert page.count("<details><summary>Provenance of ") == 900


# --- thumbnails --------------------------------------------------------------------------------------------


def test_image_references() -> None:
    assert _images.is_image_ref("photos/a.JPG") and _images.is_image_ref("b.webp")
    assert not _images.is_image_ref(REMOTE_IMAGE)
    assert not _images.is_image_ref("data:image/png;base64,AAAA")
    assert not _images.is_image_ref("a menu.txt") and not _images.is_image_ref(3)


def test_thumbnail_without_an_image_library_keeps_only_small_originals(tmp_path: Path) -> None:
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    small.write_bytes(_png(40, 30, 1))
    large.write_bytes(_png(300, 300, 2, noisy=True))
    assert large.stat().st_size > _images.MAX_ORIGINAL_BYTES
    url = _images.thumbnail(small, backends=())
    assert url is not None and url.startswith("data:image/png;base64,")
    assert _images.thumbnail(large, backends=()) is None
    assert _images.thumbnail(tmp_path / "absent.png", backends=()) is None


@pytest.mark.skipif(not HAS_PILLOW, reason="Pillow is not installed")
def test_thumbnail_with_pillow_downscales(tmp_path: Path) -> None:
    large = tmp_path / "large.png"
    large.write_bytes(_png(300, 300, 2, noisy=True))
    url = _images.thumbnail(large, size=120)
    assert url is not None and url.startswith("data:image/jpeg;base64,")
    assert len(url) < large.stat().st_size / 4
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    assert _images.thumbnail(broken) is None  # a placeholder, not the undecodable bytes


# --- JUnit -------------------------------------------------------------------------------------------------


def test_junit_counts_criteria_and_cases(report: RunReport, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(report, path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == len(report.summaries)
    total_tests = 0
    for suite, s in zip(suites, report.summaries, strict=True):
        cells = [c for c in report.cells if c.version_id == s.version_id]
        failed_cases = {c.case_id for c in cells if c.status == "ok" and not c.passed}
        errored_cases = {c.case_id for c in cells if c.status == "error"} - failed_cases
        failed_criteria = [c for c in s.criteria if not c.passed]
        cases = suite.findall("testcase")
        assert len(cases) == int(suite.get("tests", "")) == len(s.criteria) + len(s.gate_errors) + len(report.cases)
        assert int(suite.get("failures", "")) == len(failed_criteria) + len(failed_cases)
        assert int(suite.get("errors", "")) == len(errored_cases) + len(s.gate_errors)
        assert len(suite.findall("testcase/failure")) == int(suite.get("failures", ""))
        assert len(suite.findall("testcase/error")) == int(suite.get("errors", ""))
        by_name = {tc.get("name"): tc for tc in cases}
        for c in s.criteria:
            failure = by_name[c.text].find("failure")
            assert (failure is None) == c.passed
            if failure is not None:
                assert "threshold" in failure.get("message", "")
                if c.judged_on == "lower bound":
                    assert "judged on lower bound" in failure.get("message", "")
        for case_id in failed_cases:
            text = by_name[case_id].findtext("failure") or ""
            assert "label" in text or "rubric" in text
        for case_id in errored_cases:
            assert "ProviderTimeout" in (by_name[case_id].findtext("error") or "")
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["version_id"] == s.version_id
        total_tests += int(suite.get("tests", ""))
    assert int(root.get("tests", "")) == total_tests


def test_a_case_parked_for_approval_is_skipped_not_failed(report: RunReport) -> None:
    # A cell whose tool call waits for a person has no answer to grade: CI must not read it as a failure.
    case_id = report.cells[0].case_id
    parked = [
        dataclasses.replace(c, status="parked", passed=False, score=0.0, grades=[], output_text=None)
        if c.case_id == case_id
        else c
        for c in report.cells
    ]
    waiting = dataclasses.replace(report, cells=parked)
    statuses = {cv.case.id: cv.status for cv in view.case_views(waiting)}
    assert statuses[case_id] == "parked"
    root = ET.fromstring(junit_xml(waiting))
    for suite in root.findall("testsuite"):
        case = next(tc for tc in suite.findall("testcase") if tc.get("name") == case_id)
        assert case.find("failure") is None and case.find("error") is None
        assert "approval" in (case.find("skipped").get("message", "") if case.find("skipped") is not None else "")
    page = render_html(waiting)
    assert "waiting for a person&#x27;s approval" in page or "waiting for a person's approval" in page
    assert "data-status='parked'" in page


def test_junit_survives_control_characters_and_speaks_korean(report: RunReport) -> None:
    assert any("\x0b" in (c.output_text or "") for c in report.cells)
    root = ET.fromstring(junit_xml(report, "ko"))
    messages = [f.get("message", "") for f in root.iter("failure")]
    assert any("임계값" in m for m in messages)


# --- Markdown ----------------------------------------------------------------------------------------------


def test_markdown_summary(report: RunReport) -> None:
    text = summary_markdown(report)
    assert text.startswith("## Evaluation report: menu-photo-review — ❌ gate failed")
    assert report.comparison is not None
    assert f"**{md_cell(view.verdict_line(report.comparison, 'USD', 'en'))}**" in text
    for s in report.summaries:
        for c in s.criteria:
            mark = "✅" if c.passed else "❌"
            assert f"| {mark} | `{c.text}` |" in text
    assert "| Pass rate | 53.3% | [36.1%, 69.8%] |" in text
    assert "<script" not in text  # GitHub renders raw HTML in Markdown
    assert "**judged on lower bound**" in text


def test_markdown_shows_at_most_ten_flipped_cases_broken_first(tmp_path: Path) -> None:
    big = build_report(n_cases=100, seed=5)
    assert big.comparison is not None and len(big.comparison.flipped) > 10
    text = summary_markdown(big)
    rows = re.findall(r"^\| `menu-\d+` \| (🟢|🔴) ", text, re.MULTILINE)
    assert len(rows) == 10
    assert rows == sorted(rows, key=lambda r: r == "🟢")
    assert f"Flipped cases (10 of {len(big.comparison.flipped)})" in text


def test_markdown_in_korean(report: RunReport) -> None:
    text = summary_markdown(report, "ko")
    assert "게이트 실패" in text and "통과율" in text and "하한으로 판정" in text
    assert "report." not in text


@given(st.text())
def test_markdown_cells_cannot_break_a_table(text: str) -> None:
    out = md_cell(text)
    assert "\n" not in out and "<" not in out
    assert re.search(r"(?<!\\)\|", out) is None


# --- JSON and CSV ------------------------------------------------------------------------------------------


def test_json_round_trip(report: RunReport, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(report, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "andon.run_report"
    assert data["run"]["created_at"] == "2026-03-14T09:30:00+00:00"
    assert read_json(path) == report
    assert report_from_dict(json.loads(json.dumps(report_to_dict(report)))) == report


def test_json_rejects_what_is_not_a_report(tmp_path: Path, report: RunReport) -> None:
    with pytest.raises(ReportFormatError, match="not an andon run report"):
        report_from_dict({"run": {}})
    newer = report_to_dict(report) | {"format_version": 99}
    with pytest.raises(ReportFormatError, match="newer"):
        report_from_dict(newer)
    damaged = report_to_dict(report)
    del damaged["run"]["created_at"]
    with pytest.raises(ReportFormatError, match="incomplete"):
        report_from_dict(damaged)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ReportFormatError) as info:
        read_json(bad)
    assert info.value.where is not None and "bad.json:1" in info.value.where


def test_csv_has_one_row_per_cell(report: RunReport, tmp_path: Path) -> None:
    path = tmp_path / "cells.csv"
    write_csv(report, path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == len(report.cells)
    keyed = {(r["version_id"], r["case_id"], int(r["repeat"])): r for r in rows}
    assert len(keyed) == len(report.cells)
    for cell in report.cells:
        row = keyed[(cell.version_id, cell.case_id, cell.repeat)]
        assert row["status"] == cell.status and row["passed"] == str(cell.passed)
        assert [g["grader"] for g in json.loads(row["grades"])] == [g.grader for g in cell.grades]
        if cell.output_text == FORMULA_REPLY:
            assert row["output_text"] == "'" + FORMULA_REPLY  # not run as a spreadsheet formula
        elif cell.output_text:
            assert row["output_text"] == cell.output_text
    assert any("습니다" in r["output_text"] for r in rows)  # Korean text survives the round trip


# --- terminal ----------------------------------------------------------------------------------------------


def test_terminal_summary_and_comparison(report: RunReport) -> None:
    console = Console(record=True, width=200, file=io.StringIO())
    print_summary(report, console)
    out = console.export_text()
    for text in CRITERIA:
        assert text in out
    assert "recall[reject] >= 0.75" in out  # brackets are not swallowed as markup
    assert report.comparison is not None
    assert view.verdict_line(report.comparison, "USD", "en") in out
    broken = next(f.case_id for f in report.comparison.flipped if f.change == "broken")
    assert broken in out
    assert "gate failed" in out


def test_terminal_in_korean(report: RunReport) -> None:
    assert report.comparison is not None
    console = Console(record=True, width=200, file=io.StringIO())
    print_comparison(report.comparison, console, "ko")
    out = console.export_text()
    assert "v2가 v1보다 낫습니다" in out and "나빠짐" in out and "통과율" in out


def test_verdicts_in_both_directions_and_none() -> None:
    worse = build_report(versions=("v2", "v1"))
    assert worse.comparison is not None and worse.comparison.verdict == "worse"
    assert view.verdict_line(worse.comparison, "USD", "en").startswith("v1 is worse than v2")
    same = dataclasses.replace(worse.comparison, verdict="no detectable difference")
    assert view.verdict_line(same, "USD", "ko").startswith("v2와 v1 사이에 통계적으로 의미 있는 차이가 없습니다")
    single = build_report(n_cases=8, versions=("v1",), repeats=1)
    page = render_html(single)
    assert 'id="comparison"' not in page and 'id="stability"' not in page
    assert "## Comparison" not in summary_markdown(single)


# --- formatting --------------------------------------------------------------------------------------------


def test_number_formats() -> None:
    assert fmt.value(0.9333, "percent") == "93.3%"
    assert fmt.money(0.000155, "USD") == "$0.000155"
    assert fmt.money(1234.5, "KRW") == "₩1,234"
    assert fmt.money(12.5, "CHF") == "12.50 CHF"
    assert fmt.delta(-0.0123, "percent", "USD", "en") == "-1.2 pp"
    assert fmt.delta(0.367, "percent", "USD", "ko") == "+36.7%p"
    assert fmt.money(-0.25, "EUR", signed=True) == "-€0.25"
    assert fmt.p_value(0.0) == "< 0.0001" and fmt.p_value(0.0123) == "0.012"
    assert fmt.metric_label("recall[reject]", "ko") == "재현율[reject]"
    assert fmt.metric_label("my_custom_metric", "en") == "my_custom_metric"


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["percent", "ms", "money", "tokens", "score", "number"]),
)
def test_formats_never_fail(x: float, kind: fmt.Kind) -> None:
    for text in (fmt.value(x, kind), fmt.delta(x, kind, "KRW", "ko")):
        assert text and "nan" not in text.lower()


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=200))
def test_histogram_edges_cover_every_value(values: list[float]) -> None:
    edges = _svg.bin_edges(values)
    assert edges[0] == 0 and all(a < b for a, b in itertools.pairwise(edges))
    assert max(values) < edges[-1]
    assert len(edges) <= 42
