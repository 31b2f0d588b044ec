"""``andon demo``'s second part: the Korean support chatbot over a generated help centre (HWPX, DOCX, PDF,
HTML, HWP): ingest into two knowledge bases (fixed vs structure-aware chunks), evaluate retrieval on every
question, have the embedded model answer a few, compare, and hand back the HTML section for the report."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from andon.cli._common import console
from andon.cli.eval_cmds import conversion, run_with_progress
from andon.demo import knowledge as kd
from andon.embeddings import default_embedder
from andon.evals.build import build_report, feature_for_run
from andon.evals.model import RunReport
from andon.evals.plan import plan_run
from andon.evals.report import render_html
from andon.evals.slicing import CaseSlice
from andon.messages import t
from andon.workspace import Workspace

DEFAULT_ANSWERS = 3


@dataclass(frozen=True)
class KnowledgeDemo:
    """What the chatbot part made: its workspace, the two reports and the HTML section for the demo's page."""

    root: Path
    search: RunReport
    chat: RunReport | None
    section: str


def _evaluate(ws: Workspace, feature: str, case_slice: CaseSlice, concurrency: int) -> RunReport:
    plan = plan_run(ws, feature, repeats=1, case_slice=case_slice)
    outcome = asyncio.run(run_with_progress(ws, plan, concurrency, None, None, True, quiet=False))
    run = ws.store.get_run(outcome.run_id)
    return build_report(
        ws.store,
        run,
        feature_for_run(run, ws.config.features[feature]),
        conversion(ws),
        workspace=ws.root,
        compare=kd.VERSIONS,
    )


def run_knowledge_demo(
    parent: Path, language: str, *, fresh: bool, limit: int | None, answers: int, concurrency: int
) -> KnowledgeDemo:
    """Build ``parent/cs-chatbot``, ingest, evaluate both features, print the comparison and the answers."""
    console.print()
    console.print(t("kdemo.start", language=language), markup=False, highlight=False)
    root = kd.create_workspace(parent, language, fresh=fresh)
    with Workspace.open(root) as ws:
        ingested = kd.ingest(ws.store, root, default_embedder())
        kd.print_ingested(console, ingested, language)
        console.print(t("kdemo.search_plan", language=language, feature=kd.SEARCH_FEATURE), markup=False)
        search = _evaluate(ws, kd.SEARCH_FEATURE, CaseSlice(limit=limit), concurrency)
        rows = kd.print_search(console, search, language)
        chat: RunReport | None = None
        n = min(answers, limit) if limit is not None else answers
        if n > 0:
            console.print(t("kdemo.chat_plan", language=language, feature=kd.FEATURE, n=n), markup=False)
            chat = _evaluate(ws, kd.FEATURE, CaseSlice(limit=n, tags=(kd.ANSWERED,)), concurrency)
            kd.print_answers(console, chat, language)
    (root / kd.SEARCH_REPORT).write_text(render_html(search, language=language), encoding="utf-8")
    if chat is not None:
        (root / kd.CHAT_REPORT).write_text(render_html(chat, language=language), encoding="utf-8")
    section = kd.html_section(language, ingested, rows, search, chat)
    return KnowledgeDemo(root, search, chat, section)
