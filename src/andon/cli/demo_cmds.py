"""``andon demo``: the offline menu-review walkthrough — the same eval, compare and report as every user runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from andon import deploy
from andon.cli._common import console
from andon.cli.eval_cmds import conversion, run_with_progress
from andon.evals.build import build_report, feature_for_run
from andon.evals.model import RunReport
from andon.evals.plan import plan_run
from andon.evals.slicing import CaseSlice
from andon.messages import current_language, t
from andon.workspace import Workspace

if TYPE_CHECKING:
    from andon.cli.demo_knowledge import KnowledgeDemo

DEMO_ROUTING_TARGET = "precision >= 0.9"


def demo(
    path: Annotated[Path, typer.Option("--path", help="Where to build the demo workspace.")] = Path("andon-demo"),
    fresh: Annotated[bool, typer.Option("--fresh", help="Start from an empty workspace (drops earlier runs).")] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            help="Cells in flight at once (the embedded model runs one call at a time anyway).",
        ),
    ] = 1,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate only the first N cases (a quick look).")
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help=t("watchint.demo.watch_help"))] = False,
    watch_only: Annotated[bool, typer.Option("--watch-only", help=t("watchint.demo.watch_only_help"))] = False,
    knowledge: Annotated[bool, typer.Option("--knowledge", help=t("help.demo.knowledge"))] = False,
    skip_knowledge: Annotated[bool, typer.Option("--skip-knowledge", help=t("help.demo.skip_knowledge"))] = False,
    answers: Annotated[int, typer.Option("--answers", min=0, help=t("help.demo.answers"))] = 3,
    agents: Annotated[bool, typer.Option("--agents", help=t("help.demo.agents"))] = False,
    skip_agents: Annotated[bool, typer.Option("--skip-agents", help=t("help.demo.skip_agents"))] = False,
) -> None:
    """Build a menu-review workspace (102 labelled Korean menu cases with photos, 3 versions), evaluate it
    offline on the embedded model, compare the versions with their statistics, and write an HTML report; then
    a Korean support chatbot over a help centre in five file formats, fixed vs structure-aware chunks; then a
    support flow of agents (triage, order lookup, refund with a person's approval), two flow versions compared."""
    from andon.demo.okr import seed_objectives
    from andon.demo.workspace import FEATURE, create_workspace
    from andon.evals.report import render_html

    language = current_language()
    started = time.monotonic()
    path = path.resolve()
    console.print(t("demo.start", path=path))
    create_workspace(path, language, fresh=fresh)
    if watch_only:
        from andon.cli.demo_watch import run_watch_demo

        run_watch_demo(path, language)
        return
    if agents:  # the support-flow part alone
        from andon.cli.demo_agents import run_agents_demo

        flow = run_agents_demo(path, language, fresh=fresh, limit=limit, concurrency=concurrency)
        console.print(t("demo.done", where=flow.root, seconds=f"{time.monotonic() - started:.0f}"))
        return
    if knowledge:  # the chatbot part alone
        from andon.cli.demo_knowledge import run_knowledge_demo

        part = run_knowledge_demo(path, language, fresh=fresh, limit=limit, answers=answers, concurrency=concurrency)
        _print_knowledge_next(part)
        console.print(t("demo.done", where=part.root / "report.html", seconds=f"{time.monotonic() - started:.0f}"))
        return
    with Workspace.open(path) as ws:
        plan = plan_run(ws, FEATURE, repeats=1, case_slice=CaseSlice(limit=limit))
        versions = plan.versions
        console.print(t("demo.plan", versions=len(versions), cases=len(plan.dataset.cases)))
        outcome = asyncio.run(run_with_progress(ws, plan, concurrency, None, None, True, quiet=False))
        run = ws.store.get_run(outcome.run_id)
        # The question that matters: do the rules beat a good prompt? (v1 → v3 is `andon compare v1-naive v3-hybrid`.)
        names = [v.name for v in versions]
        pair = (names[-2], names[-1]) if len(names) >= 2 else None
        report = build_report(
            ws.store,
            run,
            feature_for_run(run, ws.config.features[FEATURE]),
            conversion(ws),
            workspace=ws.root,
            compare=pair,
        )
        live_line = _promote_passing(ws, FEATURE, report)
        okr_period = seed_objectives(ws, report)
    print_results(report, console, language)
    page = render_html(report, language=language)
    chatbot = None
    if not skip_knowledge:
        from andon.cli.demo_knowledge import run_knowledge_demo
        from andon.demo.knowledge import add_to_page

        chatbot = run_knowledge_demo(path, language, fresh=fresh, limit=limit, answers=answers, concurrency=concurrency)
        page = add_to_page(page, chatbot.section)
    if not skip_agents:
        from andon.cli.demo_agents import run_agents_demo

        run_agents_demo(path, language, fresh=fresh, limit=limit, concurrency=concurrency)
    html = path / "report.html"
    html.write_text(page, encoding="utf-8")
    console.print()
    console.print(live_line)
    console.print(t("okr.demo.seeded", period=okr_period))
    console.print(t("demo.done", where=html, seconds=f"{time.monotonic() - started:.0f}"))
    for line in t("demo.next", path=path, output=_example_output(report)).splitlines():
        console.print(line, markup=False, highlight=False)
    if chatbot is not None:
        _print_knowledge_next(chatbot)
    if watch:
        from andon.cli.demo_watch import run_watch_demo

        run_watch_demo(path, language)


def print_results(report: RunReport, out: Console, language: str) -> None:
    """What the demo prints of its run: the summary (metrics, slices, comparison), then the routing suggestion."""
    from andon.cli.routing_advice import print_routing
    from andon.evals.calibration import parse_target
    from andon.evals.report import print_summary

    print_summary(report, out, language=language)
    # What share could be automated, on the label's confidence from its token logprobs. The target is 90%: on 102
    # cases no threshold can show 99% (even 102 of 102 right has a 95% Clopper-Pearson lower bound of 96.4%).
    print_routing(report, parse_target(DEMO_ROUTING_TARGET), out, language)


def _promote_passing(ws: Workspace, feature: str, report: RunReport) -> str:
    """Promote, through the gate, the last declared version that met every criterion; say what is live."""
    passing = [s.version_name for s in report.summaries if s.gate_passed]
    for name in reversed(passing):
        try:
            deploy.promote(ws, feature, name)
        except deploy.PromotionRefused:
            continue  # the gate has the last word
        return t("deploy.demo.promoted", feature=feature, version=name)
    return t("deploy.demo.none_passed", feature=feature)


def _example_output(report: RunReport) -> str:
    """An output worth citing: a reject by the last version, else any output."""
    last = report.summaries[-1].version_id if report.summaries else None
    for cell in report.cells:
        if cell.version_id == last and cell.output_id and cell.predicted_label == "reject":
            return cell.output_id
    return next((c.output_id for c in report.cells if c.output_id), "OUTPUT_ID")


def _print_knowledge_next(part: KnowledgeDemo) -> None:
    """What to try next in the chatbot's workspace (an answer of the model to cite when it answered one)."""
    cells = [*(part.chat.cells if part.chat else []), *part.search.cells]
    output = next((c.output_id for c in cells if c.output_id), "OUTPUT_ID")
    for line in t("kdemo.next", path=part.root, output=output, run=part.search.run.id).splitlines():
        console.print(line, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``andon demo``."""
    app.command()(demo)
