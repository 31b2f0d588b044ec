"""A Markdown summary for CI (e.g. GitHub's step summary): key metrics, criteria, verdict, flipped cases."""

from __future__ import annotations

from andon.evals.model import Comparison, RunReport
from andon.evals.report import _format as f
from andon.evals.report import _view as v
from andon.messages import t

__all__ = ["summary_markdown"]

MAX_FLIPPED = 10


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, no raw HTML."""
    flat = f.one_line(str(text), 200)
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    # Inside a code span HTML is shown literally, so only backticks and table pipes need care.
    return "`" + f.one_line(text, 200).replace("`", "ʼ").replace("|", "\\|") + "`"


def _version(report: RunReport, index: int, language: str) -> list[str]:
    s = report.summaries[index]
    currency = report.run.currency
    gate = f"✅ {f.tr('gate.passed', language)}" if s.gate_passed else f"❌ {f.tr('gate.failed', language)}"
    lines = [f"### {cell(s.version_name)} {_code(f.short_id(s.version_id))} — {gate}", ""]
    lines += [
        f"| {f.tr('col.metric', language)} | {f.tr('col.value', language)} | {f.tr('col.interval', language)} |",
        "|---|---:|---|",
    ]
    for names in v.key_metrics(report):
        value, span = v.metric_text(v.find_metric(s, names), currency)
        lines.append(f"| {cell(f.metric_label(names[0], language))} | {value} | {span} |")
    lines.append("")
    lines += _slices(report, index, language)
    if s.criteria:
        lines += [
            f"| | {f.tr('col.criterion', language)} | {f.tr('col.value', language)} | "
            f"{f.tr('col.judged_on', language)} |",
            "|---|---|---:|---|",
        ]
        for c in s.criteria:
            texts = v.criterion_texts(c, currency, language)
            judged = texts["judged"]
            if c.judged_on != "estimate":
                judged = f"**{judged}** {texts['judged_value']}"
            mark = "✅" if c.passed else "❌"
            value = f"{texts['value']} {texts['interval']}".strip()
            lines.append(f"| {mark} | {_code(c.text)} | {cell(value)} | {cell(judged)} |")
        lines.append("")
    for reason in s.gate_errors:
        lines.append(f"- ⚠️ {f.tr('gate.not_judged', language)}: {cell(reason)}")
    if s.gate_errors:
        lines.append("")
    return lines


def _slices(report: RunReport, index: int, language: str) -> list[str]:
    """The version's figures per slice, each with its interval and its number of cases."""
    columns, rows = v.slice_table(report.summaries[index], report.run.currency)
    if not rows:
        return []
    heads = " | ".join(cell(f.metric_label(c, language)) for c in columns)
    lines = [
        f"**{cell(t('evaldeep.report.slices', language=language))}**",
        "",
        f"| {cell(t('evaldeep.report.col_slice', language=language))} | "
        f"{cell(t('evaldeep.report.col_cases', language=language))} | {heads} |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for row in rows:
        shown = " | ".join(cell(f"{value} {span}".strip()) for value, span in row.cells)
        lines.append(f"| {_code(row.name)} | {row.n_cases} | {shown} |")
    return [*lines, ""]


def _comparison(report: RunReport, cmp: Comparison, language: str) -> list[str]:
    currency = report.run.currency
    lines = [f"### {f.tr('section.comparison', language)}: {cell(cmp.a_name)} → {cell(cmp.b_name)}", ""]
    a, b = cell(cmp.a_name), cell(cmp.b_name)
    lines += [
        f"| {f.tr('col.metric', language)} | {a} | {b} | {f.tr('cmp.delta', language)} | "
        f"{f.tr('cmp.interval', language)} | p |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for d in cmp.deltas:
        kind = f.metric_kind(d.name)
        lines.append(
            f"| {cell(f.metric_label(d.name, language))} | {f.value(d.a, kind, currency)} | "
            f"{f.value(d.b, kind, currency)} | {f.delta(d.delta, kind, currency, language)} | "
            f"{f.delta_interval(d.low, d.high, kind, currency, language)} | {f.p_value(d.p_value)} |"
        )
    lines.append("")
    if cmp.flipped:
        order = v.flipped_order(cmp)
        shown = order[:MAX_FLIPPED]
        title = f.tr("md.flipped", language, shown=len(shown), total=len(order))
        lines += [
            f"**{title}**",
            "",
            f"| {f.tr('col.case', language)} | {f.tr('cmp.change', language)} | {a} | {b} |",
            "|---|---|---|---|",
        ]
        for i in shown:
            fc = cmp.flipped[i]
            change = (
                f"🟢 {f.tr('cmp.fixed', language)}" if fc.change == "fixed" else f"🔴 {f.tr('cmp.broken', language)}"
            )
            lines.append(
                f"| {_code(fc.case_id)} | {change} | {cell(fc.a_output or '—')} | {cell(fc.b_output or '—')} |"
            )
        lines.append("")
    return lines


def summary_markdown(report: RunReport, language: str = "en") -> str:
    """The CI summary of a run in ``language``."""
    run = report.run
    gate = f"✅ {f.tr('gate.passed', language)}" if report.gate_passed else f"❌ {f.tr('gate.failed', language)}"
    lines = [
        f"## {cell(f.tr('title', language, feature=run.feature))} — {gate}",
        "",
        f.tr(
            "md.run_line",
            language,
            run=_code(run.id),
            dataset=_code(run.dataset),
            sha=_code(run.dataset_sha256[:12]),
            cases=run.n_cases,
            repeats=run.repeats,
        ),
        "",
    ]
    if report.comparison is not None:
        lines += [f"> **{cell(v.verdict_line(report.comparison, run.currency, language))}**", ""]
    for i in range(len(report.summaries)):
        lines += _version(report, i, language)
    if report.comparison is not None:
        lines += _comparison(report, report.comparison, language)
    return "\n".join(lines).rstrip() + "\n"
