"""Rich tables for the CLI: key metrics with intervals, criteria, the verdict line and flipped cases."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from andon.evals.model import Comparison, RunReport
from andon.evals.report import _format as f
from andon.evals.report import _view as v
from andon.evals.report.detectable import detectable_line
from andon.messages import t

__all__ = ["print_comparison", "print_slices", "print_summary"]

MAX_FLIPPED = 10


def print_summary(report: RunReport, console: Console, language: str = "en") -> None:
    """Print a run's key metrics per version, each version's criteria, and the verdict when compared."""
    run = report.run
    gate = (
        Text(f"✔ {f.tr('gate.passed', language)}", style="bold green")
        if report.gate_passed
        else Text(f"✘ {f.tr('gate.failed', language)}", style="bold red")
    )
    console.print(Text.assemble((f.tr("title", language, feature=run.feature), "bold"), "  ", gate))
    console.print(
        Text(
            f.tr("md.run_line", language, run=run.id, dataset=run.dataset, sha=run.dataset_sha256[:12],
                 cases=run.n_cases, repeats=run.repeats),
            style="dim",
        )
    )  # fmt: skip
    metrics = Table(title=f.tr("section.summary", language), title_justify="left")
    metrics.add_column(f.tr("col.metric", language))
    for s in report.summaries:
        metrics.add_column(Text(s.version_name), justify="right")
    # Text objects throughout: names such as recall[reject] must not be read as Rich markup.
    for names in v.key_metrics(report):
        row = [Text(f.metric_label(names[0], language))]
        for s in report.summaries:
            value, span = v.metric_text(v.find_metric(s, names), run.currency)
            row.append(Text.assemble(value, (f" {span}" if span else "", "dim")))
        metrics.add_row(*row)
    metrics.add_row(
        Text(f.tr("gate.label", language)),
        *(
            Text(f.tr("gate.passed", language), style="green")
            if s.gate_passed
            else Text(f.tr("gate.failed", language), style="red")
            for s in report.summaries
        ),
    )
    console.print(metrics)
    print_slices(report, console, language)
    _print_errors(report, console, language)
    for s in report.summaries:
        if not s.criteria and not s.gate_errors:
            continue
        table = Table(title=Text(f"{f.tr('section.criteria', language)} — {s.version_name}"), title_justify="left")
        for key in ("col.result", "col.criterion", "col.value", "col.threshold", "col.judged_on", "col.note"):
            table.add_column(f.tr(key, language))
        for c in s.criteria:
            texts = v.criterion_texts(c, run.currency, language)
            result = (
                Text(f.tr("badge.pass", language), style="green")
                if c.passed
                else Text(f.tr("badge.fail", language), style="bold red")
            )
            judged = texts["judged"] if c.judged_on == "estimate" else f"{texts['judged']} {texts['judged_value']}"
            table.add_row(
                result,
                Text(c.text),
                Text(f"{texts['value']} {texts['interval']}".strip()),
                Text(texts["threshold"]),
                Text(judged),
                Text(c.note or "", style="dim"),
            )
        console.print(table)
        for reason in s.gate_errors:
            console.print(Text(f"⚠ {f.tr('gate.not_judged', language)}: {reason}", style="yellow"))
    if report.comparison is not None:
        print_comparison(report.comparison, console, language, currency=run.currency)


def print_slices(report: RunReport, console: Console, language: str = "en") -> None:
    """Each version's figures per tag, label and policy item, each with its interval and its number of cases."""
    for s in report.summaries:
        columns, rows = v.slice_table(s, report.run.currency)
        if not rows:
            continue
        title = t("evaldeep.report.slices_title", language=language, version=s.version_name)
        table = Table(title=Text(title), title_justify="left")
        table.add_column(t("evaldeep.report.col_slice", language=language))
        table.add_column(t("evaldeep.report.col_cases", language=language), justify="right")
        for column in columns:
            table.add_column(Text(f.metric_label(column, language)), justify="right")
        for row in rows:
            shown = [Text.assemble(value, (f" {span}" if span else "", "dim")) for value, span in row.cells]
            table.add_row(Text(row.name), Text(str(row.n_cases)), *shown)
        console.print(table)


def _print_errors(report: RunReport, console: Console, language: str) -> None:
    """Each version's most frequent errors, so a run that measured little says why."""
    for s in report.summaries:
        if not s.first_errors:
            continue
        cells = [c for c in report.cells if c.version_id == s.version_id]
        calls = sum(c.status == "error" for c in cells)
        graders = sum(c.status != "error" and c.grading_error is not None for c in cells)
        title = t("evals.report.errors_title", language=language, version=s.version_name, calls=calls,
                  graders=graders, cells=len(cells))  # fmt: skip
        console.print(Text(title, style="bold yellow"))
        for group in s.first_errors:
            kind = t(f"evals.error_kind.{group.kind}", language=language)
            line = t("evals.run.error_line", language=language, kind=kind, count=group.count, case_id=group.case_id,
                     message=group.message)  # fmt: skip
            console.print(Text(f"  • {line}", style="yellow"))


def print_comparison(cmp: Comparison, console: Console, language: str = "en", currency: str = "USD") -> None:
    """Print a comparison: the verdict line in bold, metric deltas with intervals, and flipped cases."""
    style = {"better": "bold green", "worse": "bold red"}.get(v.verdict_key(cmp), "bold")
    console.print(Text(v.verdict_line(cmp, currency, language), style=style))
    table = Table(
        title=Text(f"{f.tr('section.comparison', language)}: {cmp.a_name} → {cmp.b_name}"), title_justify="left"
    )
    table.add_column(f.tr("col.metric", language))
    table.add_column(Text(cmp.a_name), justify="right")
    table.add_column(Text(cmp.b_name), justify="right")
    table.add_column(f.tr("cmp.delta", language), justify="right")
    table.add_column(f.tr("cmp.interval", language))
    table.add_column("p", justify="right")
    for d in cmp.deltas:
        kind = f.metric_kind(d.name)
        table.add_row(
            Text(f.metric_label(d.name, language)),
            Text(f.value(d.a, kind, currency)),
            Text(f.value(d.b, kind, currency)),
            Text(f.delta(d.delta, kind, currency, language)),
            Text(f.delta_interval(d.low, d.high, kind, currency, language), style="dim"),
            Text(f.p_value(d.p_value)),
        )
    console.print(table)
    console.print(
        Text(
            f.tr("cmp.mcnemar_line", language, b=cmp.mcnemar_b, c=cmp.mcnemar_c, p=f.p_equation(cmp.mcnemar_p),
                 a_name=cmp.a_name, b_name=cmp.b_name),
            style="dim",
        )
    )  # fmt: skip
    detectable = detectable_line(cmp, language)
    if detectable is not None:
        console.print(Text(detectable, style="dim"))
    if not cmp.flipped:
        return
    order = v.flipped_order(cmp)
    flips = Table(
        title=f.tr("md.flipped", language, shown=min(MAX_FLIPPED, len(order)), total=len(order)), title_justify="left"
    )
    # Case ids are copied into `--case`: never wrapped nor cut (issue 16 item 13); the outputs wrap instead.
    shown = [cmp.flipped[i].case_id for i in order[:MAX_FLIPPED]]
    flips.add_column(f.tr("col.case", language), no_wrap=True, min_width=max(len(c) for c in shown))
    flips.add_column(f.tr("cmp.change", language))
    flips.add_column(Text(cmp.a_name), overflow="fold")
    flips.add_column(Text(cmp.b_name), overflow="fold")
    for i in order[:MAX_FLIPPED]:
        fc = cmp.flipped[i]
        change = (
            Text(f.tr("cmp.fixed", language), style="green")
            if fc.change == "fixed"
            else Text(f.tr("cmp.broken", language), style="red")
        )
        flips.add_row(Text(fc.case_id), change, Text(f.one_line(fc.a_output, 120)), Text(f.one_line(fc.b_output, 120)))
    console.print(flips)
