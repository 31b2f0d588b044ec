"""``andon demo``'s third part: a Korean second-hand-market support flow (triage → order desk → refund desk whose
refund needs a person's approval). Two flow versions are evaluated on multi-turn cases by their trajectories and
compared (``andon compare``, printed in English and Korean); then one refund request is served through the
gateway, parks, is approved with ``andon review approve`` in another process, and the flow resumes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from andon.agents.trajectory import trajectory_of
from andon.cli._common import console
from andon.cli.eval_cmds import conversion, run_with_progress
from andon.demo import support_flow as sf
from andon.demo.support_flow_tools import refund_records, refund_state
from andon.evals.build import build_report, feature_for_run
from andon.evals.compare import compare_cells
from andon.evals.dataset import load_dataset
from andon.evals.model import Case, RunReport
from andon.evals.plan import plan_run
from andon.evals.report import render_html, terminal
from andon.evals.slicing import CaseSlice
from andon.gateway.service import Gateway
from andon.gateway.types import Caller, InvokeResult
from andon.messages import t
from andon.review import queue
from andon.review.tool_approval import asked_arguments
from andon.workspace import Workspace

REVIEWER = "demo-lead"  # who approves in the demo (recorded on the decision and the approval span)


@dataclass(frozen=True)
class Approval:
    """The refund served for approval: the gateway's answer, the review item, what the approval printed."""

    case_id: str
    version: str
    parked: InvokeResult
    approved: subprocess.CompletedProcess[str] | None = None
    path: str | None = None
    records: list[tuple[str, int]] = field(default_factory=list)
    state_passed: bool | None = None


@dataclass(frozen=True)
class AgentsDemo:
    """What the support-flow part made: its workspace, one report per feature, and the approval shown."""

    root: Path
    reports: dict[str, RunReport]
    approval: Approval | None


def _say(key: str, **values: Any) -> None:
    console.print(t(key, **values), markup=False, highlight=False)


def _evaluate(ws: Workspace, feature: str, limit: int | None, concurrency: int) -> RunReport:
    plan = plan_run(ws, feature, repeats=1, case_slice=CaseSlice(limit=limit))
    total = len(load_dataset(Path(ws.config.features[feature].dataset or ""), ws.root).cases)
    _say("agdemo.plan", feature=feature, cases=len(plan.dataset.cases), total=total, versions=len(plan.versions))
    outcome = asyncio.run(run_with_progress(ws, plan, concurrency, None, None, True, quiet=False))
    run = ws.store.get_run(outcome.run_id)
    return build_report(
        ws.store, run, feature_for_run(run, ws.config.features[feature]), conversion(ws), workspace=ws.root,
        compare=sf.VERSIONS,
    )  # fmt: skip


def _print_figures(ws: Workspace, feature: str, report: RunReport) -> None:
    steps = {c.output_id: ws.store.get_output(c.output_id).steps for c in report.cells if c.output_id}
    rows = sf.figures(report, steps)
    table = Table(title=t("agdemo.table.title", feature=feature, cases=rows[0].cases if rows else 0),
                  title_justify="left")  # fmt: skip
    table.add_column(t("agdemo.table.figure"))
    for row in rows:
        table.add_column(Text(row.version), justify="right")
    table.add_row(t("agdemo.table.passed"), *(f"{r.passed} / {r.graded}" for r in rows))
    table.add_row(t("agdemo.table.parked"), *(str(r.parked) for r in rows))
    for grader in dict.fromkeys(g for r in rows for g in r.graders):
        table.add_row(Text(grader), *(_fraction(r.graders.get(grader)) for r in rows))
    kinds = [", ".join(f"{k} {n}" for k, n in r.kinds.items()) for r in rows]
    table.add_row(t("agdemo.table.kinds"), *(Text(k) for k in kinds))
    console.print(table)
    for cell in report.cells:  # each case's path: what the graders read
        stored = steps.get(cell.output_id or "", [])
        path = sf.path_text(trajectory_of(stored), stored)
        mark = "·" if cell.status == "parked" else ("✓" if cell.passed else "✗")
        console.print(f"  {mark} {cell.version_name:<11} {cell.case_id:<17} {path}", markup=False, highlight=False)


def _fraction(value: tuple[int, int] | None) -> str:
    return "—" if value is None else f"{value[0]} / {value[1]}"


def _print_comparison(ws: Workspace, feature: str, report: RunReport) -> None:
    """What ``andon compare v1-basic v2-clarify`` prints for this run, in English and in Korean."""
    a, b = (next(s for s in report.summaries if s.version_name == n) for n in sf.VERSIONS)
    a_cells = [c for c in report.cells if c.version_id == a.version_id]
    b_cells = [c for c in report.cells if c.version_id == b.version_id]
    alpha = ws.config.features[feature].alpha
    comparison = compare_cells(a.version_name, a.version_id, a_cells, b.version_name, b.version_id, b_cells, alpha)
    console.print(f"$ andon compare {a.version_name} {b.version_name} --run {report.run.id}", markup=False,
                  highlight=False, style="bold")  # fmt: skip
    for language in ("en", "ko"):
        terminal.print_comparison(comparison, console, language=language, currency=ws.config.currency)


async def _serve(ws: Workspace, version: str, turn: str) -> InvokeResult:
    gateway = Gateway(ws, prune_interval_s=None)
    await gateway.start()
    try:
        variables = {"history": [{"role": "user", "content": turn}]}
        return await gateway.invoke(sf.FEATURES[0], variables, Caller(user_id="buyer-demo"), version=version)
    finally:
        await gateway.stop()
        await ws.aclose_providers()


def _decide(root: Path, review_id: str, language: str, decision: sf.Decision) -> subprocess.CompletedProcess[str]:
    """``andon review approve|reject`` in its own process, as a person would run it (it resumes the flow)."""
    env = {**os.environ, "ANDON_LANG": language}
    env.pop("ANDON_WORKSPACE", None)
    reason = t(decision.reason_key, **decision.values).strip()
    command = ["review", decision.action, review_id, "--actor", REVIEWER, "--reason", reason]
    if decision.arguments is not None:
        command += ["--arguments", json.dumps(decision.arguments, ensure_ascii=False)]
    console.print(f"$ andon {' '.join(command[:3])} --actor {REVIEWER}" +
                  (f" --arguments '{command[-1]}'" if decision.arguments is not None else ""),
                  markup=False, highlight=False, style="bold")  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "andon", *command, "--json"], cwd=root, env=env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip


def _show_approval(ws: Workspace, root: Path, language: str) -> Approval | None:
    """Serve the refund cases (bounded: each once, on v2 then v1) until one parks; decide it as the refund desk's
    lead would (approve, with the amount corrected to what was paid; reject a second refund of the same order)
    until the flow answers; show the resumed path, the refund records and the final-state check."""
    cases = {c.id: c for c in _cases(root)}
    for version in reversed(sf.VERSIONS):
        for case_id, turns in sf.approval_turns(root):
            _say("agdemo.approval.serve", version=version, text=turns[-1])
            parked = asyncio.run(_serve(ws, version, turns[-1]))
            if parked.review_id is None:
                steps = ws.store.get_output(_output_id(ws, parked.trace_id)).steps
                _say("agdemo.approval.not_parked", path=sf.path_text(trajectory_of(steps), steps),
                     answer=(parked.output_text or parked.error or "")[:160])  # fmt: skip
                continue
            return _decide_until_answered(ws, root, language, case_id, cases[case_id], version, parked)
    _say("agdemo.approval.none")
    return None


def _decide_until_answered(
    ws: Workspace, root: Path, language: str, case_id: str, case: Case, version: str, parked: InvokeResult
) -> Approval:
    review_id: str | None = parked.review_id
    done: subprocess.CompletedProcess[str] | None = None
    approved: set[str] = set()
    for _ in range(sf.MAX_DECISIONS):  # each decision resumes the flow; it may park again
        if review_id is None:
            break
        tool, asked = asked_arguments(queue.get(ws.store, review_id))
        _say("agdemo.approval.parked", tool=tool, arguments=json.dumps(asked, ensure_ascii=False), id=review_id,
             records=len(refund_records(root)))  # fmt: skip
        decision = sf.review_refund(root, asked, approved)
        _say(decision.why_key, **decision.values)
        done = _decide(root, review_id, language, decision)
        if done.returncode != 0:
            for line in (done.stdout + done.stderr).strip().splitlines()[-4:]:
                console.print(f"  {line}", markup=False, highlight=False)
            break
        result = json.loads(done.stdout)
        _say("agdemo.approval.decided", status=result["review"].get("label") or "-", run=result["status"],
             answer=(result.get("output_text") or result.get("error") or "")[:160])  # fmt: skip
        review_id = result.get("next_review_id")
    steps = ws.store.get_output(_output_id(ws, parked.trace_id)).steps
    path = trajectory_of(steps)
    records = refund_records(root)
    state = refund_state(root, case, path)
    _say("agdemo.approval.resumed", path=sf.path_text(path, steps))
    _say("agdemo.approval.records", records=", ".join(f"{o} ₩{a:,}" for o, a in records) or "—")
    _say("agdemo.approval.state_ok" if state["passed"] else "agdemo.approval.state_off", reason=state["reason"])
    return Approval(case_id, version, parked, done, sf.path_text(path, steps), records, bool(state["passed"]))


def _output_id(ws: Workspace, trace_id: str) -> str:
    return str(ws.store.get_trace(trace_id)["output_id"])


def _cases(root: Path) -> list[Case]:
    return list(load_dataset(Path("data/support.jsonl"), root).cases)


def run_agents_demo(
    parent: Path, language: str, *, fresh: bool, limit: int | None, concurrency: int, providers: str | None = None
) -> AgentsDemo:
    """Build ``parent/market-support``, evaluate and compare both flows on each feature, then show one approval.

    ``providers``: the workspace's ``providers:`` entries as YAML (default: the embedded model).
    """
    console.print()
    _say("agdemo.start")
    root = sf.create_workspace(parent, language, fresh=fresh, providers=providers)
    reports: dict[str, RunReport] = {}
    with Workspace.open(root) as ws:
        for feature in sf.FEATURES:
            report = _evaluate(ws, feature, limit if limit is not None else sf.DEFAULT_CASES, concurrency)
            reports[feature] = report
            _print_figures(ws, feature, report)
            _print_comparison(ws, feature, report)
            (root / f"{feature}.html").write_text(render_html(report, language=language), encoding="utf-8")
        console.print()
        approval = _show_approval(ws, root, language)
    for line in t("agdemo.next", path=root).splitlines():
        console.print(line, markup=False, highlight=False)
    return AgentsDemo(root, reports, approval)
