"""The demo's second feature, ``cs-chatbot``: a Korean support chatbot answering from a help centre that the
demo writes as HWPX, DOCX, PDF, HTML and HWP files; fixed chunks against structure-aware ones, same cases.

Its workspace sits beside the menu demo's (``andon-demo/cs-chatbot``): andon.yaml, ``docs/`` (the files),
``data/cases.jsonl`` (32 questions, each naming its answer sentence as ``relevant:``) and two knowledge bases,
one per chunker, so each version's retrieve step reads the chunks of its own chunker.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from rich.console import Console
from rich.table import Table

from andon.demo.knowledge_corpus import questions
from andon.demo.knowledge_files import FIXTURES, FORMATS, file_for, write_corpus
from andon.embeddings import Embedder
from andon.evals.compare_retrieval import case_figures as figures_of
from andon.evals.compare_retrieval import retrieval_deltas
from andon.evals.metrics import MetricValue
from andon.evals.model import CellResult, RunReport
from andon.knowledge.ingest import AddReport, add_paths
from andon.messages import t
from andon.store import Store

FEATURE = "cs-chatbot"  # the model answers from the retrieved chunks (a few questions: the model is slow)
SEARCH_FEATURE = "cs-search"  # the same retrieval, no model: every question
ANSWERED = "answered"  # the tag of the questions the demo has the model answer: one per file format
FOLDER = "cs-chatbot"  # inside the menu demo's workspace
TEMPLATE = FIXTURES / "andon.yaml"
K = 3  # chunks shown to the model: with ~100-character chunks, three keep the prompt short
MAX_TOKENS = 48  # one or two Korean sentences
# One knowledge base per chunker; sizes fit articles of ~380 characters and sections of ~90 (a chunk near a
# whole article would leave nothing for the chunkers to differ on).
BASES: dict[str, dict[str, Any]] = {
    "help-fixed": {"name": "fixed", "size": 100, "overlap": 20},
    "help-structured": {"name": "markdown", "size": 120},
}
VERSIONS = ("v1-fixed", "v2-structured")
SEARCH_REPORT, CHAT_REPORT = "report.html", "answers.html"  # each run's full report, in the chatbot's folder
NOT_FOUND = "도움말에서 찾지 못했습니다."


def cases() -> list[dict[str, Any]]:
    """One case per section: the paraphrased question, its answer sentence as the expected text and as the
    ``relevant:`` quote, tagged with the article and the file format it was written in."""
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    formats: set[str] = set()
    for question, article, answer in questions():
        stem = article.removesuffix(".md")
        seen[stem] = seen.get(stem, 0) + 1
        suffix = Path(file_for(article)).suffix.lstrip(".")
        tags = [f"article:{stem}", f"format:{suffix}"]
        if suffix not in formats:
            formats.add(suffix)
            tags.append(ANSWERED)
        out.append(
            {
                "id": f"{stem}-{seen[stem]}",
                "vars": {"question": question},
                "expected": answer,
                "relevant": [{"quote": answer}],
                "tags": tags,
            }
        )
    return out


def create_workspace(parent: Path, language: str, *, fresh: bool) -> Path:
    """Write ``parent/cs-chatbot``: andon.yaml, the help-centre files and the cases (kept if already there)."""
    root = parent / FOLDER
    if fresh and root.exists():
        shutil.rmtree(root)
    (root / ".andon").mkdir(parents=True, exist_ok=True)
    write_corpus(root / "docs")
    data = root / "data"
    data.mkdir(exist_ok=True)
    if not (data / "cases.jsonl").exists():
        lines = [json.dumps(case, ensure_ascii=False) for case in cases()]
        (data / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    text = Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        language=language, threads=threads, k=K, max_tokens=MAX_TOKENS
    )
    (root / "andon.yaml").write_text(text, encoding="utf-8")
    return root


@dataclass(frozen=True)
class Ingested:
    """What ingestion did for one knowledge base: its name, chunker and the add report."""

    name: str
    chunker: dict[str, Any]
    report: AddReport


def ingest(store: Store, root: Path, embedder: Embedder | None) -> list[Ingested]:
    """Add ``root/docs`` to each knowledge base with its chunker (unchanged files are skipped on re-runs)."""
    return [
        Ingested(name, spec, add_paths(store, name, [root / "docs"], chunker=spec, embedder=embedder))
        for name, spec in BASES.items()
    ]


def top_chunk(variables: dict[str, Any]) -> str:
    """cs-search's answer: the best chunk as it stands, cited as ``[1]`` (what a help-centre search shows)."""
    chunks = variables.get("chunks") or []
    return f"{chunks[0]['text']} [1]" if chunks else NOT_FOUND


# --- the figures the demo prints ---------------------------------------------------------------------------

FIGURE_NAMES = ("hit_rate", "recall", "mrr", "ndcg")


@dataclass(frozen=True)
class FigureRow:
    """One retrieval figure of both versions, and B − A paired over the same questions."""

    name: str
    a: MetricValue | None
    b: MetricValue | None
    delta: float
    low: float
    high: float
    p: float
    n: int


def _cells_by_case(report: RunReport, version: str) -> dict[str, list[CellResult]]:
    """case id → ``version``'s cells on it."""
    out: dict[str, list[CellResult]] = {}
    for cell in report.cells:
        if cell.version_name == version:
            out.setdefault(cell.case_id, []).append(cell)
    return out


def case_figures(report: RunReport, version: str) -> dict[str, dict[str, float]]:
    """case id → the retrieval figures of ``version`` on it (cases without ``relevant:`` left out)."""
    found = {case: figures_of(cells) for case, cells in _cells_by_case(report, version).items()}
    return {case: figures for case, figures in found.items() if figures is not None}


def compare_retrieval(report: RunReport, a: str = VERSIONS[0], b: str = VERSIONS[1]) -> list[FigureRow]:
    """Each retrieval figure of ``a`` and ``b`` with its interval, and the paired difference over the questions
    both were judged on, as ``andon compare`` computes it (evals.compare_retrieval)."""
    by_name = {s.version_name: s for s in report.summaries}
    first, second = _cells_by_case(report, a), _cells_by_case(report, b)
    shared = [case for case in first if case in second]
    paired = len(set(case_figures(report, a)) & set(case_figures(report, b)))
    rows: list[FigureRow] = []
    for found in retrieval_deltas(shared, first, second):
        name = found.name.removeprefix("retrieval_")
        if name not in FIGURE_NAMES or found.delta is None or found.low is None or found.high is None:
            continue
        metric_a = by_name[a].metrics.get(found.name) if a in by_name else None
        metric_b = by_name[b].metrics.get(found.name) if b in by_name else None
        p = found.p_value if found.p_value is not None else 1.0
        rows.append(FigureRow(name, metric_a, metric_b, found.delta, found.low, found.high, p, paired))
    return rows


def hits_by_format(report: RunReport, a: str = VERSIONS[0], b: str = VERSIONS[1]) -> list[tuple[str, int, int, int]]:
    """``(format, hits of a, hits of b, questions)`` per file format: where the chunkers differ."""
    tags = {case.id: case.tags for case in report.cases}
    first, second = case_figures(report, a), case_figures(report, b)
    totals: Counter[str] = Counter()
    hits_a: Counter[str] = Counter()
    hits_b: Counter[str] = Counter()
    for case, figures in first.items():
        if case not in second:
            continue
        for tag in tags.get(case, ()):
            if tag.startswith("format:"):
                kind = tag.removeprefix("format:")
                totals[kind] += 1
                hits_a[kind] += int(figures["hit_rate"] >= 1.0)
                hits_b[kind] += int(second[case]["hit_rate"] >= 1.0)
    order = list(dict.fromkeys(Path(name).suffix.lstrip(".") for name in FORMATS.values()))
    return [(kind, hits_a[kind], hits_b[kind], totals[kind]) for kind in order if totals[kind]]


def _value(metric: MetricValue | None, name: str) -> str:
    if metric is None:
        return "–"
    spec = ".3f" if name in ("mrr", "ndcg") else ".1%"  # ranks as a score, shares as a percentage
    text = format(metric.value, spec)
    if metric.low is not None and metric.high is not None:
        text += f" [{format(metric.low, spec)}, {format(metric.high, spec)}]"
    return text


def _delta(row: FigureRow) -> str:
    if row.name in ("mrr", "ndcg"):
        return f"{row.delta:+.3f} [{row.low:+.3f}, {row.high:+.3f}]"
    return f"{row.delta * 100:+.1f} pp [{row.low * 100:+.1f}, {row.high * 100:+.1f}]"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def verdict(rows: list[FigureRow], language: str, a: str = VERSIONS[0], b: str = VERSIONS[1]) -> str:
    """One sentence on the hit rate: which chunker finds the answer more often, and whether it is significant."""
    row = next((r for r in rows if r.name == "hit_rate"), None)
    if row is None:
        return t("kdemo.verdict.none", language=language)
    values = {"a": a, "b": b, "delta": _delta(row), "p": _p(row.p), "n": row.n}
    if row.p < 0.05:
        key = "kdemo.verdict.better" if row.delta > 0 else "kdemo.verdict.worse"
    else:
        key = "kdemo.verdict.undecided"
    return t(key, language=language, **values)


def figure_table(rows: list[FigureRow], language: str, k: int = K) -> Table:
    """The retrieval comparison as a Rich table."""
    table = Table(title=t("kdemo.table.title", language=language, n=rows[0].n if rows else 0, k=k))
    for header in ("metric", VERSIONS[0], VERSIONS[1], "delta", "p"):
        label = t(f"kdemo.table.{header}", language=language) if header in ("metric", "delta", "p") else header
        table.add_column(label, justify="left" if header == "metric" else "right")
    for row in rows:
        table.add_row(
            t(f"kdemo.figure.{row.name}", language=language, k=k),
            _value(row.a, row.name),
            _value(row.b, row.name),
            _delta(row),
            _p(row.p),
        )
    return table


def _answer(cell: CellResult | None) -> str:
    if cell is None:
        return "–"
    if cell.status != "ok":
        return f"({cell.error or cell.status})"
    return " ".join((cell.output_text or "").split())


def answer_rows(report: RunReport) -> list[tuple[str, str, str, str]]:
    """``(question, reference answer, answer of v1, answer of v2)`` for each case of the chatbot run."""
    cells = {(c.version_name, c.case_id): c for c in report.cells if c.repeat == 0}
    return [
        (
            str(case.vars.get("question", "")),
            str(case.expected or ""),
            _answer(cells.get((VERSIONS[0], case.id))),
            _answer(cells.get((VERSIONS[1], case.id))),
        )
        for case in report.cases
        if any((v, case.id) in cells for v in VERSIONS)
    ]


def pass_counts(report: RunReport) -> dict[str, tuple[int, int]]:
    """version → (answers that passed every grader, answers) in the chatbot run."""
    out: dict[str, tuple[int, int]] = {}
    for version in VERSIONS:
        cells = [c for c in report.cells if c.version_name == version]
        out[version] = (sum(1 for c in cells if c.passed), len(cells))
    return out


def print_ingested(out: Console, ingested: list[Ingested], language: str) -> None:
    """What went into each knowledge base: files per format, chunks, files that failed (and why)."""
    formats = Counter(Path(name).suffix.lstrip(".").upper() for name in FORMATS.values())
    listed = ", ".join(f"{kind} × {n}" if n > 1 else kind for kind, n in formats.items())
    out.print(t("kdemo.corpus", language=language, articles=len(FORMATS), formats=listed))
    for item in ingested:
        report = item.report
        settings = ", ".join(f"{k}={v}" for k, v in item.chunker.items() if k != "name")
        out.print(
            t("kdemo.ingested", language=language, name=item.name, chunker=item.chunker.get("name", "?"),
              settings=settings, added=len(report.added), unchanged=len(report.unchanged), chunks=report.chunks),
            markup=False, highlight=False,
        )  # fmt: skip
        for path, why in report.failed:
            out.print(t("kdemo.failed", language=language, path=path, why=why), markup=False, highlight=False)


def print_search(out: Console, report: RunReport, language: str) -> list[FigureRow]:
    """The retrieval comparison, the hits per file format and the verdict; the rows, for the HTML report."""
    rows = compare_retrieval(report)
    out.print(figure_table(rows, language))
    by_format = "; ".join(f"{kind}: {a}/{n} → {b}/{n}" for kind, a, b, n in hits_by_format(report))
    out.print(t("kdemo.by_format", language=language, a=VERSIONS[0], b=VERSIONS[1], hits=by_format),
              markup=False, highlight=False)  # fmt: skip
    out.print(verdict(rows, language), markup=False, highlight=False)
    return rows


def print_answers(out: Console, report: RunReport, language: str) -> None:
    """The chatbot's answers side by side, and how many passed the graders."""
    table = Table(title=t("kdemo.answers.title", language=language, n=len(report.cases)), show_lines=True)
    for header in ("question", "reference"):
        table.add_column(t(f"kdemo.answers.{header}", language=language))
    for version in VERSIONS:
        table.add_column(version)
    for row in answer_rows(report):
        table.add_row(*row)
    out.print(table)
    counts = pass_counts(report)
    passed = ", ".join(f"{v} {p}/{n}" for v, (p, n) in counts.items())
    out.print(t("kdemo.answers.passed", language=language, passed=passed), markup=False, highlight=False)


def html_section(
    language: str, ingested: list[Ingested], rows: list[FigureRow], search: RunReport, chat: RunReport | None
) -> str:
    """The part of the demo's HTML report about the chatbot: the corpus, the retrieval comparison, the answers."""
    e = html.escape
    parts = [f'<section id="cs-chatbot"><h2>{e(t("kdemo.html.title", language=language))}</h2>']
    parts.append(f"<p>{e(t('kdemo.html.intro', language=language, articles=len(FORMATS)))}</p><ul>")
    for item in ingested:
        settings = ", ".join(f"{k}={v}" for k, v in item.chunker.items() if k != "name")
        files = len(item.report.added) + len(item.report.unchanged)
        chunks = t("kdemo.html.chunks", language=language, files=files, chunks=item.report.chunks)
        parts.append(f"<li><b>{e(item.name)}</b>: {e(str(item.chunker.get('name')))} ({e(settings)}), {e(chunks)}</li>")
    parts.append("</ul>")
    n = rows[0].n if rows else 0
    parts.append(f"<h3>{e(t('kdemo.table.title', language=language, n=n, k=K))}</h3><table><thead><tr>")
    heads = [t("kdemo.table.metric", language=language), *VERSIONS, t("kdemo.table.delta", language=language), "p"]
    parts.append("".join(f"<th>{e(h)}</th>" for h in heads) + "</tr></thead><tbody>")
    for row in rows:
        cells = [_value(row.a, row.name), _value(row.b, row.name), _delta(row), _p(row.p)]
        label = t(f"kdemo.figure.{row.name}", language=language, k=K)
        parts.append(f"<tr><th>{e(label)}</th>" + "".join(f"<td class='num'>{e(c)}</td>" for c in cells) + "</tr>")
    parts.append("</tbody></table>")
    by_format = "; ".join(f"{kind}: {a}/{n} → {b}/{n}" for kind, a, b, n in hits_by_format(search))
    parts.append(f"<p>{e(t('kdemo.by_format', language=language, a=VERSIONS[0], b=VERSIONS[1], hits=by_format))}</p>")
    parts.append(f"<div class='verdict'>{e(verdict(rows, language))}</div>")
    where = t("kdemo.html.run", language=language, run=search.run.id, file=SEARCH_REPORT)
    parts.append(f"<p class='small muted'>{e(where)}</p>")
    if chat is not None:
        parts.append(f"<h3>{e(t('kdemo.answers.title', language=language, n=len(chat.cases)))}</h3><table><thead><tr>")
        heads = [
            t("kdemo.answers.question", language=language),
            t("kdemo.answers.reference", language=language),
            *VERSIONS,
        ]
        parts.append("".join(f"<th>{e(h)}</th>" for h in heads) + "</tr></thead><tbody>")
        for answer in answer_rows(chat):
            parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in answer) + "</tr>")
        passed = ", ".join(f"{v} {p}/{n}" for v, (p, n) in pass_counts(chat).items())
        parts.append(f"</tbody></table><p>{e(t('kdemo.answers.passed', language=language, passed=passed))}</p>")
        where = t("kdemo.html.run", language=language, run=chat.run.id, file=CHAT_REPORT)
        parts.append(f"<p class='small muted'>{e(where)}</p>")
    parts.append("</section>")
    return "".join(parts)


def add_to_page(page: str, section: str) -> str:
    """The menu demo's HTML report with ``section`` placed after its last section (before the footer)."""
    marker = "<footer>"
    at = page.rfind(marker)
    return page[:at] + section + page[at:] if at >= 0 else page + section
