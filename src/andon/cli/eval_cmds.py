"""Commands that evaluate: eval (with --gate and --resume), compare, report, runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Annotated, Any, NamedTuple, cast

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from andon.cli._common import Listing, console, err_console, open_workspace, print_json
from andon.cli.routing_advice import print_routing, routing_json
from andon.errors import ConfigError, NotFoundError
from andon.evals.build import build_report, cell_from_row, feature_for_run, load_cells
from andon.evals.calibration import RoutingTarget, parse_target
from andon.evals.confidence import parse_source
from andon.evals.executors import Executor, ExecutorSettings, build_executor
from andon.evals.flip_criteria import apply_flip_rates
from andon.evals.model import CellResult, RunReport
from andon.evals.plan import RunPlan, parse_budget, plan_run
from andon.evals.runner import Budget, RunOutcome, run_evaluation
from andon.evals.runner import Progress as RunProgress
from andon.evals.slicing import CaseSlice
from andon.evals.summarize import Conversion
from andon.messages import current_language, t
from andon.store.records import RunRecord
from andon.workspace import Workspace

EXIT_GATE_FAILED = 1
EXIT_RUN_FAILED = 3  # as for a provider or call that failed: every cell of the run failed to run
_RUN_STATUS = {"interrupted": "eval.status.interrupted", "budget_exceeded": "eval.status.budget_exceeded"}


def conversion(ws: Workspace) -> Conversion:
    """Converts costs into the workspace's report currency."""
    return Conversion.of(ws.config)


def _names(values: list[str] | str | None) -> tuple[str, ...]:
    """Repeated and comma-separated option values as one tuple: ``--tag a,b --tag c`` → (a, b, c)."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else values
    return tuple(name.strip() for item in items for name in item.split(",") if name.strip())


def eval_(
    feature: Annotated[str | None, typer.Argument(help="Feature to evaluate (not needed with --resume).")] = None,
    versions: Annotated[
        str | None, typer.Option("--versions", help="Comma-separated names/ids; default: all declared.")
    ] = None,
    dataset: Annotated[Path | None, typer.Option("--dataset", help="Override the feature's dataset file.")] = None,
    repeats: Annotated[
        int | None, typer.Option("--repeats", "-r", min=1, help="Samples per case (default: the feature's).")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Cells in flight at once.")] = 8,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Stop when the spend reaches this, e.g. '3000 KRW'.")
    ] = None,
    max_rate: Annotated[
        float | None, typer.Option("--max-rate", help="At most this many cells started per second.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call providers even for cells answered before.")
    ] = False,
    resume: Annotated[str | None, typer.Option("--resume", help="Continue an interrupted run (id or prefix).")] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N cases (after --tag and --case).")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only cases with this tag (repeat, or comma-separate, for any).")
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Only these case ids (repeat, or comma-separate).")
    ] = None,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 unless every criterion holds (0 when all hold).")
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML here (default with --gate: andon-junit.xml).")
    ] = None,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Write a Markdown summary here (default with --gate: andon-summary.md)."),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    suggest_routing: Annotated[
        str | None,
        typer.Option("--suggest-routing", help="Print the confidence threshold that reaches e.g. 'precision >= 0.99'."),
    ] = None,
    confidence: Annotated[
        str | None,
        typer.Option("--confidence", help="Where answers carry a confidence: field:PATH or grader:NAME."),
    ] = None,
    robustness: Annotated[
        str | None,
        typer.Option("--robustness", help="Also run these perturbations as paired cases, e.g. 'spacing,typo,jamo'."),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor", help="Where cells run: local (this process) or ray (a Ray cluster; needs the 'ray' extra)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="The Ray cluster's address (host:port) for --executor ray; default RAY_ADDRESS or a local cluster.",
        ),
    ] = None,
) -> None:
    """Evaluate FEATURE's versions on its dataset (or a slice of it); print metrics, criteria and the comparison."""
    from andon.cli import robust_cmds

    target = parse_target(suggest_routing) if suggest_routing is not None else None
    if confidence is not None:
        parse_source(confidence)  # a malformed source stops here, before anything runs
    cells_on = _executor(executor, address)  # an absent package or a silent cluster stops here too
    with open_workspace() as ws:
        plan = plan_run(
            ws, feature, versions=_names(versions) or None, dataset=dataset, repeats=repeats, resume=resume,
            case_slice=CaseSlice(limit, _names(tag), _names(case)),
        )  # fmt: skip
        budget_limit = parse_budget(budget, ws.config.currency)
        outcome = asyncio.run(
            run_with_progress(
                ws, plan, concurrency, budget_limit, max_rate, not no_cache, quiet=as_json, executor=cells_on
            )
        )
        run = ws.store.get_run(outcome.run_id)
        # Provenance (every rendered prompt) is loaded only for the formats that show it.
        report = build_report(
            ws.store, run, feature_for_run(run, ws.config.features.get(plan.feature)), conversion(ws),
            workspace=ws.root, with_provenance=html is not None or as_json, confidence=confidence,
        )  # fmt: skip
        suite = robust_cmds.run_suite(
            ws, plan, _names(robustness), run_with_progress, concurrency=concurrency, use_cache=not no_cache, quiet=as_json
        ) if outcome.status == "finished" else None  # fmt: skip
        if suite is not None:  # flip_rate[typo] criteria are judged on the suite's pairs
            apply_flip_rates(report.summaries, suite, feature_for_run(run, ws.config.features.get(plan.feature)))
    extra = {"robustness": robust_cmds.to_dict(suite)} if suite is not None else None
    try:
        _emit(
            report, outcome, as_json=as_json, gate=gate, junit=junit, summary=summary, html=html, routing=target,
            extra=extra,
        )  # fmt: skip
    finally:
        if suite is not None and not as_json:
            robust_cmds.show(suite)


def _executor(name: str, address: str | None) -> Executor:
    """The executor ``--executor`` names, checked; ``--address`` only where cells leave this process."""
    if address is not None and name == "local":
        raise ConfigError(
            t("executor.address_unused", executor=name), where="--address", hint=t("executor.address_unused_hint")
        )
    return build_executor(name, ExecutorSettings(address=address))


async def run_with_progress(
    ws: Workspace, plan: RunPlan, concurrency: int, budget: Budget | None, max_rate: float | None, use_cache: bool,
    *, quiet: bool, extra_config: dict[str, Any] | None = None, executor: Executor | None = None,
) -> RunOutcome:  # fmt: skip
    """Run an evaluation under a Rich progress bar; the first Ctrl-C stops cleanly, the second at once."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    presses = {"n": 0}

    def on_interrupt() -> None:
        # First Ctrl-C: finish the cells in flight, keep everything done. Second: stop at once.
        presses["n"] += 1
        stop.set()
        if presses["n"] == 1:
            err_console.print(f"\n[yellow]{t('eval.stopping')}[/]")
        else:
            for task in asyncio.all_tasks(loop):
                task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or no signals here
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn(t("eval.progress.pass") + " {task.fields[rate]}"), TextColumn(t("eval.progress.cost") + " {task.fields[cost]}"),
        TimeElapsedColumn(), TextColumn(t("eval.progress.eta")), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task(plan.feature, total=1, rate="–", cost="–")

        def on_progress(p: RunProgress) -> None:
            unpriced = t("eval.progress.unpriced", n=p.cost_unknown) if p.cost_unknown else ""
            cost = f"{p.cost:,.2f} {p.currency}{unpriced}"
            bar.update(task, total=p.total, completed=p.done, rate=f"{p.pass_rate:.0%}", cost=cost)

        try:
            outcome = await run_evaluation(
                ws, plan.feature, plan.versions, plan.dataset, repeats=plan.repeats, concurrency=concurrency,
                budget=budget, max_rate=max_rate, use_cache=use_cache, run_id=plan.run_id, stop=stop,
                on_progress=on_progress, case_slice=None if plan.case_slice.is_whole else plan.case_slice.to_json(),
                extra_config=extra_config, executor=executor,
            )  # fmt: skip
        finally:
            await ws.aclose_providers()
            if not loop.is_closed():
                loop.remove_signal_handler(signal.SIGINT)
    if outcome.status == "failed":
        return outcome  # reported with its first errors once the summary is printed
    if outcome.status != "finished":
        status = _RUN_STATUS.get(outcome.status)
        shown = t(status) if status else outcome.status.replace("_", " ")
        err_console.print(f"[yellow]{t('eval.run_ended', run_id=outcome.run_id, status=shown, note=outcome.note)}[/]")
        err_console.print(t("eval.resume_with", command=f"[bold]andon eval --resume {outcome.run_id}[/]"))
    return outcome


def _emit(
    report: RunReport, outcome: RunOutcome | None, *, as_json: bool, gate: bool, junit: Path | None,
    summary: Path | None, html: Path | None, routing: RoutingTarget | None = None,
    extra: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    from andon.evals.report import export, markdown, terminal
    from andon.evals.report import junit as junit_xml
    from andon.evals.report.html import render_html

    language = current_language()
    if gate:
        junit = junit or Path("andon-junit.xml")
        summary = summary or Path("andon-summary.md")
    if junit is not None:
        junit_xml.write_junit(report, junit)
    if summary is not None:
        text = markdown.summary_markdown(report, language=language)
        summary.write_text(text, encoding="utf-8")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if gate and step_summary:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")
    if html is not None:
        html.write_text(render_html(report, language=language), encoding="utf-8")
    if as_json:
        routed = {"routing": routing_json(report, routing)} if routing is not None else {}
        print_json(export.report_to_dict(report) | {"gate_passed": report.gate_passed} | routed | (extra or {}))
    else:
        terminal.print_summary(report, console, language=language)
        if routing is not None:
            print_routing(report, routing, console, language)
        written = [str(p) for p in (html, junit, summary) if p is not None]
        if written:
            console.print(f"[dim]{t('eval.wrote', paths=', '.join(written))}[/]")
        command = f"andon report {report.run.id} --html report.html"
        console.print(f"[dim]{t('eval.report_hint', run_id=report.run.id, command=command)}[/]")
    if outcome is not None and outcome.status == "failed":
        # Nothing was measured: a failed run whatever the gate, with what went wrong.
        err_console.print(f"[bold red]{escape(t('evals.run.failed', run_id=outcome.run_id))}[/]")
        for group in outcome.first_errors:
            kind = t(f"evals.error_kind.{group.kind}")
            line = t("evals.run.error_line", kind=kind, count=group.count, case_id=group.case_id, message=group.message)
            err_console.print(f"  • {escape(line)}")
        raise typer.Exit(EXIT_RUN_FAILED)
    if gate and not report.gate_passed:
        raise typer.Exit(EXIT_GATE_FAILED)
    if outcome is not None and outcome.status != "finished" and gate:
        raise typer.Exit(EXIT_GATE_FAILED)


def compare(
    a: Annotated[str, typer.Argument(help="A run id (one version), RUN:VERSION, or a version name.")],
    b: Annotated[
        list[str], typer.Argument(help="Same forms as A; several are compared each against A, Holm-corrected.")
    ],
    run: Annotated[
        str | None, typer.Option("--run", help="Run holding both versions (default: the latest that does).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Compare B against A case by case: deltas with intervals, McNemar, flipped cases, a verdict."""
    from andon.cli.compare_holm import compare_family

    compare_family(a, b, run, as_json, side=_side, alpha_of=_alpha)


def _alpha(ws: Workspace, feature: str) -> float:
    config = ws.config.features.get(feature)
    return config.alpha if config else 0.05


class Side(NamedTuple):
    """One side of a comparison: the run, a label, the version id and its cells."""

    run: RunRecord
    label: str
    version_id: str
    cells: list[CellResult]


def _side(ws: Workspace, ref: str, run_ref: str | None) -> Side:
    """Resolve one side of a comparison (a run, RUN:VERSION, or a version name in a recent run)."""
    run_part, sep, version_part = ref.partition(":")
    if sep:
        run = ws.store.get_run(run_part)
    elif run_ref is not None:
        run, version_part = ws.store.get_run(run_ref), ref
    else:
        try:
            run = ws.store.get_run(ref)
            version_part = ""
        except NotFoundError:
            runs = [
                r
                for r in ws.store.list_runs(limit=200)
                if any(ref in (n, v) or v.startswith(ref) for n, v in r.versions)
            ]
            if not runs:
                raise NotFoundError(t("house3.cli.no_run", ref=ref), hint=t("house3.cli.no_run_hint")) from None
            run, version_part = runs[0], ref
    versions = dict(run.versions)
    if not version_part:
        if len(versions) != 1:
            raise ConfigError(
                t("house3.cli.many_versions", run=run.id, count=len(versions)),
                hint=t("house3.cli.many_versions_hint", run=run.id, versions=", ".join(versions)),
            )
        version_part = next(iter(versions))
    vid = versions.get(version_part) or next((v for v in versions.values() if v.startswith(version_part)), None)
    if vid is None:
        raise NotFoundError(
            t("house3.cli.no_version", run=run.id, version=version_part),
            hint=t("house3.cli.no_version_hint", versions=", ".join(versions)),
        )
    name = next(n for n, v in run.versions if v == vid)
    cells = [cell_from_row(r) for r in ws.store.iter_run_results(run.id, vid)]
    return Side(run, f"{name} ({run.id[:12]})" if sep or run_ref is None else name, vid, cells)


def report(
    run: Annotated[str, typer.Argument(help="Run id, a unique prefix, or 'latest'.")] = "latest",
    html: Annotated[Path | None, typer.Option("--html", help="Write one self-contained HTML file.")] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the whole report as JSON.")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write one CSV row per cell.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
    markdown_file: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary.")] = None,
    compare_names: Annotated[
        str | None, typer.Option("--compare", help="Versions to compare, 'A,B' (default: first and last).")
    ] = None,
) -> None:
    """Print a run's summary, and write it as HTML, JSON, CSV, JUnit or Markdown."""
    from andon.evals.report import export, markdown, terminal
    from andon.evals.report import junit as junit_xml
    from andon.evals.report.html import render_html

    language = current_language()
    with open_workspace() as ws:
        record = ws.store.get_run(run)
        pair = tuple(compare_names.split(",", 1)) if compare_names else None
        built = build_report(
            ws.store, record, feature_for_run(record, ws.config.features.get(record.feature)), conversion(ws),
            workspace=ws.root, compare=pair,  # type: ignore[arg-type]
        )  # fmt: skip
    if html is not None:
        html.write_text(render_html(built, language=language), encoding="utf-8")
    if json_file is not None:
        export.write_json(built, json_file)
    if csv_file is not None:
        export.write_csv(built, csv_file)
    if junit is not None:
        junit_xml.write_junit(built, junit)
    if markdown_file is not None:
        markdown_file.write_text(markdown.summary_markdown(built, language=language), encoding="utf-8")
    terminal.print_summary(built, console, language=language)
    written = [str(p) for p in (html, json_file, csv_file, junit, markdown_file) if p is not None]
    if written:
        console.print(f"[dim]{t('eval.wrote', paths=', '.join(written))}[/]")


def runs(
    feature: Annotated[str | None, typer.Argument(help="Only this feature's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List recent evaluation runs, with each version's passed cells."""
    with open_workspace() as ws:
        records = ws.store.list_runs(feature, limit)
        tallies = ws.store.run_tallies([r.id for r in records])
    rows = [
        {"id": r.id, "feature": r.feature, "status": r.status, "created_at": r.created_at.isoformat(),
         "versions": [n for n, _ in r.versions], "cases": r.n_cases, "repeats": r.repeats, "note": r.note,
         "slice": CaseSlice.from_json(r.config.get("slice")).describe() or None,
         "results": [
             {"version": name, "cells": cells, "passed": passed, "errors": errors}
             for name, vid in r.versions
             for cells, passed, errors in [tallies.get(r.id, {}).get(vid, (0, 0, 0))]
         ]}
        for r in records
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    table = Listing(title=t("runs.title"))
    for column in ("id", "feature", "status", "created", "versions", "cases"):
        table.column(t(f"runs.col.{column}"), "id" if column == "id" else "text")
    table.column(t("evals.runs.col.results"))
    for row in rows:
        results = [
            t("evals.runs.result_errors" if x["errors"] else "evals.runs.result", **x)
            for x in cast(list[dict[str, Any]], row["results"])
        ]
        cases = f"{row['cases']} × {row['repeats']}" + (f" ({row['slice']})" if row["slice"] else "")
        table.row(
            str(row["id"]), Text(str(row["feature"])), str(row["status"]), str(row["created_at"])[:19],
            Text(", ".join(row["versions"])), Text(cases), Text(" · ".join(results)),  # type: ignore[arg-type]
        )  # fmt: skip
    table.print(console)


__all__ = ["compare", "eval_", "load_cells", "report", "runs"]
