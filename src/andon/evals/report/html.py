"""The HTML report: one self-contained file (inline CSS and SVG, images as data URLs, nothing remote)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from html import escape
from typing import Any

from andon.evals.metrics import unit_economics
from andon.evals.model import CellResult, Comparison, CriterionResult, RunReport, VersionSummary
from andon.evals.report import _format as f
from andon.evals.report import _svg
from andon.evals.report import _view as v
from andon.evals.report._html_style import CSS, SCRIPT
from andon.evals.report._images import Thumbnails, is_image_ref
from andon.evals.report.calibration_html import calibration_section
from andon.evals.stats import percentiles
from andon.evals.summarize import DEFAULT_MIN_KAPPA, MIN_LABELLED_CASES
from andon.messages import t

__all__ = ["render_html"]

_LONG_VAR = 300
_FIXED_COLUMNS = 84 + 150 + 190 + 120  # status, case, inputs, expected (the widths in the stylesheet)
_VERSION_MIN = 220
# Blocks no remote fetch even if some text slipped through as markup; images come only as data: URLs.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def e(value: object) -> str:
    """Escape untrusted text for HTML (model outputs, case variables, names)."""
    return escape(f.clean(str(value)), quote=True)


class _Page:
    """Rendering state of one page: language, currency, colours and image cache."""

    def __init__(self, report: RunReport, language: str) -> None:
        self.report = report
        self.lang = language
        self.currency = report.run.currency
        self.versions = v.versions(report)
        self.colors = {vid: _svg.PALETTE[i % len(_svg.PALETTE)] for i, (_, vid) in enumerate(self.versions)}
        self.thumbs = Thumbnails(report.dataset_dir)

    def tr(self, key: str, **values: object) -> str:
        return f.tr(key, self.lang, **values)

    def x(self, key: str, **values: object) -> str:
        """Catalogue text, escaped."""
        return e(self.tr(key, **values))

    def ev(self, key: str, **values: object) -> str:
        """Evaluation catalogue text (``evals.<key>``), escaped."""
        return e(t(f"evals.{key}", language=self.lang, **values))

    def path(self, value: str) -> str:
        """A path as the dataset wrote it (relative to its folder), never the machine's absolute path."""
        return v.display_path(value, self.report.dataset_dir)


def _badge(kind: str, text: str) -> str:
    return f'<span class="badge b-{kind}">{e(text)}</span>'


def _pass_badge(p: _Page, passed: bool) -> str:
    return _badge("pass", p.tr("badge.pass")) if passed else _badge("fail", p.tr("badge.fail"))


_BADGE_KIND = {"failed": "fail", "error": "error", "passed": "pass", "parked": "info"}


def _status_badge(p: _Page, status: str) -> str:
    kind = _BADGE_KIND.get(status, "info")
    return _badge(kind, p.tr(f"status.{status}"))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "—"


# --- header ------------------------------------------------------------------------------------------------


def _header(p: _Page) -> str:
    run = p.report.run
    gate = p.report.gate_passed
    gate_badge = (
        f'<span class="badge gate b-pass">{p.x("gate.passed")}</span>'
        if gate
        else f'<span class="badge gate b-fail">{p.x("gate.failed")}</span>'
    )
    duration = "—"
    if run.finished_at:
        duration = f"{(run.finished_at - run.created_at).total_seconds():,.1f} s"
    versions = ", ".join(f"{e(name)} <code>{e(f.short_id(vid))}</code>" for name, vid in p.versions)
    items = [
        ("meta.run", f"<code>{e(run.id)}</code>"),
        ("meta.status", e(p.tr(f"run_status.{run.status}") if run.status in _RUN_STATUSES else run.status)),
        ("meta.started", e(_when(run.created_at))),
        ("meta.finished", e(_when(run.finished_at))),
        ("meta.duration", e(duration)),
        ("meta.dataset", f"{e(run.dataset)} <code>sha256 {e(run.dataset_sha256[:12])}</code>"),
        ("meta.cases", e(run.n_cases) + (f" <code>{e(run.case_slice)}</code>" if run.case_slice else "")),
        ("meta.repeats", e(run.repeats)),
        ("meta.cells", e(len(p.report.cells))),
        ("meta.versions", versions),
        ("meta.currency", e(run.currency)),
    ]
    if run.note:
        items.append(("meta.note", e(run.note)))
    meta = "".join(f"<div><dt>{p.x(key)}</dt><dd>{val}</dd></div>" for key, val in items)
    links = [("summary", "section.summary"), ("criteria", "section.criteria")]
    if any(s.classification for s in p.report.summaries):
        links.append(("classification", "section.classification"))
    links += [("latency", "section.latency"), ("cost", "section.cost")]
    if _has_stability(p):
        links.append(("stability", "section.stability"))
    if any(s.judges for s in p.report.summaries):
        links.append(("judges", "section.judges"))
    if p.report.comparison:
        links.append(("comparison", "section.comparison"))
    links.append(("cases", "section.cases"))
    texts = [(anchor, p.tr(key)) for anchor, key in links]
    if any(s.slices for s in p.report.summaries):
        texts.insert(2, ("slices", t("evaldeep.report.slices", language=p.lang)))
    nav = "".join(f'<a href="#{anchor}">{e(text)}</a>' for anchor, text in texts)
    return (
        f"<header><h1>{p.x('title', feature=run.feature)}{gate_badge}</h1>"
        f'<div class="muted">{p.x("subtitle")}</div>'
        f'<dl class="meta">{meta}</dl><nav>{nav}</nav></header>'
    )


_RUN_STATUSES = {"running", "finished", "interrupted", "budget_exceeded", "failed"}


# --- summary -----------------------------------------------------------------------------------------------


def _summary(p: _Page) -> str:
    summaries = p.report.summaries
    head = "".join(f"<th class='num'>{e(s.version_name)}</th>" for s in summaries)
    rows = []
    for names in v.key_metrics(p.report):
        cells = []
        for s in summaries:
            text, span = v.metric_text(v.find_metric(s, names), p.currency)
            cells.append(f"<td class='num'>{e(text)} <span class='iv'>{e(span)}</span></td>")
        rows.append(f"<tr><th>{e(f.metric_label(names[0], p.lang))}</th>{''.join(cells)}</tr>")
    gates = "".join(f"<td class='num'>{_gate_badge(p, s)}</td>" for s in summaries)
    rows.append(f"<tr><th>{p.x('gate.label')}</th>{gates}</tr>")
    table = (
        f"<table class='kv'><thead><tr><th>{p.x('col.metric')}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="small muted">{p.x("note.intervals")}</p>'
    )
    bars = []
    for s in summaries:
        for name in ("pass_rate", "accuracy"):
            m = s.metrics.get(name)
            if m is None or m.n == 0:
                continue
            threshold = next(
                (c.threshold for c in s.criteria if c.metric == name and c.op in (">=", ">")),
                None,
            )
            label = f"{s.version_name} · {f.metric_label(name, p.lang)}"
            bars.append(_svg.RateBar(label, m.value, m.low, m.high, p.colors[s.version_id], threshold))
    chart = _svg.rate_bars(bars, p.tr("chart.rates"), p.tr("chart.threshold")) if bars else ""
    return f'<section id="summary"><h2>{p.x("section.summary")}</h2>{table}{_errors(p)}{chart}</section>'


def _errors(p: _Page) -> str:
    """Each version's most frequent errors: what failed to run, and why."""
    out = []
    for s in p.report.summaries:
        if not s.first_errors:
            continue
        cells = [c for c in p.report.cells if c.version_id == s.version_id]
        calls = sum(c.status == "error" for c in cells)
        graders = sum(c.status != "error" and c.grading_error is not None for c in cells)
        title = p.ev("report.errors_title", version=s.version_name, calls=calls, graders=graders, cells=len(cells))
        items = "".join(
            f"<li>{_badge('error', t(f'evals.error_kind.{g.kind}', language=p.lang))} ×{g.count} "
            f"<code>{e(g.case_id)}</code> <span class='err'>{e(g.message)}</span></li>"
            for g in s.first_errors
        )
        out.append(f"<div class='errors'><strong>{title}</strong><ul class='grades'>{items}</ul></div>")
    return "".join(out)


def _gate_badge(p: _Page, s: VersionSummary) -> str:
    return _badge("pass", p.tr("gate.passed")) if s.gate_passed else _badge("fail", p.tr("gate.failed"))


# --- criteria ----------------------------------------------------------------------------------------------


def _criterion_row(p: _Page, c: CriterionResult) -> str:
    texts = v.criterion_texts(c, p.currency, p.lang)
    judged = e(texts["judged"])
    if c.judged_on != "estimate":
        judged = f"<strong>{judged}</strong> {e(texts['judged_value'])}"
    note = e(c.note or "")
    return (
        f"<tr><td>{_pass_badge(p, c.passed)}</td><td><code>{e(c.text)}</code></td>"
        f"<td class='num'>{e(texts['value'])} <span class='iv'>{e(texts['interval'])}</span></td>"
        f"<td class='num'>{e(texts['threshold'])}</td><td>{judged}</td><td class='small'>{note}</td></tr>"
    )


def _criteria(p: _Page) -> str:
    out = [f'<section id="criteria"><h2>{p.x("section.criteria")}</h2>']
    head = "".join(
        f"<th>{p.x(k)}</th>" for k in ("col.result", "col.criterion", "col.value", "col.threshold", "col.judged_on")
    )
    for s in p.report.summaries:
        out.append(f"<h3>{e(s.version_name)} {_gate_badge(p, s)}</h3>")
        if s.criteria:
            rows = "".join(_criterion_row(p, c) for c in s.criteria)
            out.append(f"<table><thead><tr>{head}<th>{p.x('col.note')}</th></tr></thead><tbody>{rows}</tbody></table>")
        else:
            out.append(f'<p class="muted">{p.x("criteria.none")}</p>')
        for reason in s.gate_errors:
            out.append(f"<p>{_badge('error', p.tr('gate.not_judged'))} {e(reason)}</p>")
    out.append(f'<p class="small muted">{p.x("note.strict")}</p></section>')
    return "".join(out)


# --- classification ----------------------------------------------------------------------------------------


def _slices(p: _Page) -> str:
    """Each version's figures per tag, label and policy item, each with its interval and number of cases."""
    out = []
    for s in p.report.summaries:
        columns, rows = v.slice_table(s, p.currency)
        if not rows:
            continue
        head = "".join(f"<th class='num'>{e(f.metric_label(c, p.lang))}</th>" for c in columns)
        body = []
        for row in rows:
            cells = "".join(
                f"<td class='num'>{e(value)} <span class='iv'>{e(span)}</span></td>" for value, span in row.cells
            )
            body.append(f"<tr><th><code>{e(row.name)}</code></th><td class='num'>{row.n_cases}</td>{cells}</tr>")
        title = t("evaldeep.report.slices_title", language=p.lang, version=s.version_name)
        out.append(
            f"<h3>{e(title)}</h3><table><thead><tr><th>{e(t('evaldeep.report.col_slice', language=p.lang))}</th>"
            f"<th class='num'>{e(t('evaldeep.report.col_cases', language=p.lang))}</th>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    if not out:
        return ""
    heading = e(t("evaldeep.report.slices", language=p.lang))
    return f'<section id="slices"><h2>{heading}</h2>{"".join(out)}</section>'


def _label(p: _Page, label: object) -> str:
    return p.tr("label.none") if label is None else str(label)


def _confusion(p: _Page, s: VersionSummary) -> str:
    cls = s.classification
    assert cls is not None
    head = "".join(f"<th class='num'>{e(_label(p, lab))}</th>" for lab in cls.labels)
    rows = []
    for i, true in enumerate(cls.labels):
        total = sum(cls.confusion[i])
        tds = []
        for j, count in enumerate(cls.confusion[i]):
            share = count / total if total else 0.0
            # Diagonal cells shade green, the rest red, by their share of the true label's row.
            rgb = "19,115,51" if i == j else "197,34,31"
            alpha = 0.08 + 0.6 * share if count else 0.0
            tds.append(f"<td style='background:rgba({rgb},{alpha:.2f})' title='{share * 100:.0f}%'>{count}</td>")
        rows.append(f"<tr><th>{e(_label(p, true))}</th>{''.join(tds)}<td class='muted'>{total}</td></tr>")
    corner = p.x("cm.corner")
    matrix = (
        f"<div><h3>{e(s.version_name)}</h3><table class='cm'><thead><tr><th class='corner'>{corner}</th>{head}"
        f"<th class='muted'>Σ</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    label_rows = []
    for stats in cls.per_label:
        label_rows.append(
            f"<tr><td>{e(_label(p, stats.label))}</td><td class='num'>{stats.precision * 100:.1f}%</td>"
            f"<td class='num'>{stats.recall * 100:.1f}%</td><td class='num'>{stats.f1 * 100:.1f}%</td>"
            f"<td class='num'>{stats.support}</td><td class='num'>{stats.predicted}</td></tr>"
        )
    label_rows.append(
        f"<tr><th>{p.x('cm.macro')}</th><td class='num'>{cls.macro_precision * 100:.1f}%</td>"
        f"<td class='num'>{cls.macro_recall * 100:.1f}%</td><td class='num'>{cls.macro_f1 * 100:.1f}%</td>"
        "<td></td><td></td></tr>"
    )
    cols = "".join(
        f"<th class='num'>{p.x(k)}</th>"
        for k in ("metric.precision", "metric.recall", "metric.f1", "cm.support", "cm.predicted")
    )
    accuracy = (
        f"{p.x('metric.accuracy')}: <strong>{cls.accuracy * 100:.1f}%</strong> "
        f"<span class='iv'>[{cls.accuracy_low * 100:.1f}%, {cls.accuracy_high * 100:.1f}%]</span> "
        f"({cls.correct}/{cls.n})"
    )
    per_label = (
        f"<p>{accuracy}</p><table class='cm'><thead><tr><th>{p.x('cm.label')}</th>{cols}</tr></thead>"
        f"<tbody>{''.join(label_rows)}</tbody></table></div>"
    )
    return matrix + per_label


def _classification(p: _Page) -> str:
    blocks = [_confusion(p, s) for s in p.report.summaries if s.classification]
    if not blocks:
        return ""
    return (
        f'<section id="classification"><h2>{p.x("section.classification")}</h2>'
        f'<div class="cm-wrap">{"".join(blocks)}</div></section>'
    )


# --- latency -----------------------------------------------------------------------------------------------


def _latency(p: _Page) -> str:
    series = [(s, s.latencies_ms) for s in p.report.summaries if s.latencies_ms]
    out = [f'<section id="latency"><h2>{p.x("section.latency")}</h2>']
    if not series:
        out.append(f'<p class="muted">{p.x("latency.none")}</p></section>')
        return "".join(out)
    edges = _svg.bin_edges([x for _, values in series for x in values])
    charts = []
    rows = []
    for s, values in series:
        stats = percentiles(values)
        markers = [_svg.Marker(stats[k], f"{k} {stats[k]:,.0f} ms") for k in ("p50", "p95")]
        title = p.tr("chart.latency", version=s.version_name, n=len(values))
        charts.append(_svg.histogram(values, edges, title, p.colors[s.version_id], markers, p.tr("chart.ms")))
        cols = "".join(f"<td class='num'>{stats[k]:,.0f} ms</td>" for k in ("p50", "p90", "p95", "p99", "mean", "max"))
        rows.append(f"<tr><th>{e(s.version_name)}</th><td class='num'>{len(values)}</td>{cols}</tr>")
    head = "".join(f"<th class='num'>{k}</th>" for k in ("p50", "p90", "p95", "p99"))
    head += f"<th class='num'>{p.x('latency.mean')}</th><th class='num'>{p.x('latency.max')}</th>"
    out.append(f'<div class="cards">{"".join(charts)}</div>')
    out.append(
        f"<table><thead><tr><th>{p.x('col.version')}</th><th class='num'>{p.x('latency.calls')}</th>{head}</tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table><p class='small muted'>{p.x('note.latency')}</p></section>"
    )
    return "".join(out)


# --- cost --------------------------------------------------------------------------------------------------


def _cost_row(p: _Page, s: VersionSummary) -> str:
    cells = [c for c in p.report.cells if c.version_id == s.version_id]
    known = [c.cost for c in cells if c.cost is not None]
    total = math.fsum(known) if cells and len(known) == len(cells) else None
    fallback = (
        unit_economics(
            [c.cost for c in cells],
            [c.input_tokens for c in cells],
            [c.output_tokens for c in cells],
            n_calls=len(cells),
            currency=p.currency,
        )
        if cells
        else None
    )

    def pick(names: tuple[str, ...], computed: float | None) -> float | None:
        found = v.find_metric(s, names)
        return found.value if found is not None else computed

    per_case = pick(("cost_per_case",), fallback.cost_per_case if fallback else None)
    per_1k = pick(("cost_per_1k_calls", "cost_per_1k"), fallback.cost_per_1k_calls if fallback else None)
    tin = pick(("tokens_in_per_case",), fallback.tokens_in_per_case if fallback else None)
    tout = pick(("tokens_out_per_case",), fallback.tokens_out_per_case if fallback else None)
    cached = sum(1 for c in cells if c.cached)
    unknown = len(cells) - len(known)
    values = [
        str(len(cells)),
        f.money(total, p.currency),
        f.money(per_case, p.currency),
        f.money(per_1k, p.currency),
        f.value(tin, "tokens"),
        f.value(tout, "tokens"),
        f"{cached} ({cached / len(cells) * 100:.0f}%)" if cells else "—",
        str(unknown),
    ]
    tds = "".join(f"<td class='num'>{e(x)}</td>" for x in values)
    return f"<tr><th>{e(s.version_name)}</th>{tds}</tr>"


def _cost(p: _Page) -> str:
    keys = (
        "cost.calls",
        "cost.total",
        "cost.per_case",
        "cost.per_1k",
        "cost.tokens_in",
        "cost.tokens_out",
        "cost.cached",
        "cost.unknown",
    )
    head = "".join(f"<th class='num'>{p.x(k)}</th>" for k in keys)
    rows = "".join(_cost_row(p, s) for s in p.report.summaries)
    return (
        f'<section id="cost"><h2>{p.x("section.cost")}</h2>'
        f"<table><thead><tr><th>{p.x('col.version')}</th>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f"<p class='small muted'>{p.x('note.cost', currency=p.currency)}</p></section>"
    )


# --- stability and judges ----------------------------------------------------------------------------------


def _has_stability(p: _Page) -> bool:
    return p.report.run.repeats > 1 and any(s.stability for s in p.report.summaries)


def _stability(p: _Page) -> str:
    if not _has_stability(p):
        return ""
    ks = sorted({k for s in p.report.summaries if s.stability for k in s.stability.pass_at_k})
    head = "".join(f"<th class='num'>pass@{k}</th>" for k in ks) + "".join(f"<th class='num'>pass^{k}</th>" for k in ks)
    head += "".join(
        f"<th class='num'>{p.x(k)}</th>" for k in ("stability.all_pass", "metric.flip_rate", "metric.agreement")
    )
    rows = []
    flips = []
    for s in p.report.summaries:
        st = s.stability
        if st is None:
            continue
        at = "".join(f"<td class='num'>{f.value(st.pass_at_k.get(k), 'percent')}</td>" for k in ks)
        hat = "".join(f"<td class='num'>{f.value(st.pass_hat_k.get(k), 'percent')}</td>" for k in ks)
        rest = "".join(
            f"<td class='num'>{f.value(x, 'percent')}</td>" for x in (st.all_pass_rate, st.flip_rate, st.mean_agreement)
        )
        rows.append(f"<tr><th>{e(s.version_name)}</th>{at}{hat}{rest}</tr>")
        if st.flipped:
            ids = ", ".join(f"<code>{e(c)}</code>" for c in st.flipped)
            flips.append(
                f"<p class='small'><strong>{e(s.version_name)}</strong> — {p.x('stability.flipped')}: {ids}</p>"
            )
    return (
        f'<section id="stability"><h2>{p.x("section.stability")}</h2>'
        f"<table><thead><tr><th>{p.x('col.version')}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{''.join(flips)}<p class='small muted'>{p.x('note.stability', repeats=p.report.run.repeats)}</p></section>"
    )


def _judges(p: _Page) -> str:
    rows = []
    for s in p.report.summaries:
        for j in s.judges:
            status = j.status or ("trusted" if j.trusted else "untrusted")
            badge = {
                "trusted": _badge("pass", p.tr("judge.trusted")),
                "untrusted": _badge("fail", p.tr("judge.untrusted")),
            }.get(status, _badge("info", t("evals.report.judge.not_measured", language=p.lang)))
            kappa = "—" if j.kappa is None else f"{j.kappa:.2f}"
            span = "" if j.kappa_low is None or j.kappa_high is None else f"[{j.kappa_low:.2f}, {j.kappa_high:.2f}]"
            bar = j.bar if j.bar is not None else j.min_kappa
            minimum = "—" if bar is None else f"{bar:.2f}"
            rows.append(
                f"<tr><td>{e(s.version_name)}</td><td><code>{e(j.grader)}</code></td><td class='num'>{j.n}</td>"
                f"<td class='num'>{kappa}</td><td class='num iv'>{span}</td><td class='num'>{minimum}</td>"
                f"<td>{badge}</td></tr>"
            )
    if not rows:
        return ""
    head = f"<th>{p.x('col.version')}</th><th>{p.x('judge.grader')}</th>" + "".join(
        f"<th class='num'>{p.x(k)}</th>" for k in ("judge.n", "judge.kappa")
    )
    head += f"<th class='num'>{p.ev('report.judge.kappa_interval')}</th><th class='num'>{p.ev('report.judge.bar')}</th>"
    note = p.ev("report.note.judges", min_cases=MIN_LABELLED_CASES, default=f"{DEFAULT_MIN_KAPPA:g}")
    return (
        f'<section id="judges"><h2>{p.x("section.judges")}</h2>'
        f"<table><thead><tr>{head}<th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class='small muted'>{note}</p></section>"
    )


# --- comparison --------------------------------------------------------------------------------------------


def _comparison(p: _Page) -> str:
    cmp = p.report.comparison
    if cmp is None:
        return ""
    verdict = v.verdict_line(cmp, p.currency, p.lang)
    intro = p.x(
        "cmp.intro",
        a=cmp.a_name,
        a_id=f.short_id(cmp.a_version_id),
        b=cmp.b_name,
        b_id=f.short_id(cmp.b_version_id),
        n=cmp.n_pairs,
        alpha=f"{cmp.alpha:g}",
    )
    mcnemar = (
        f"<table style='width:auto'><tbody>"
        f"<tr><th>{p.x('cmp.b', a=cmp.a_name, b=cmp.b_name)}</th><td class='num'>{cmp.mcnemar_b}</td></tr>"
        f"<tr><th>{p.x('cmp.c', a=cmp.a_name, b=cmp.b_name)}</th><td class='num'>{cmp.mcnemar_c}</td></tr>"
        f"<tr><th>{p.x('cmp.mcnemar_p')}</th><td class='num'>{e(f.p_value(cmp.mcnemar_p))}</td></tr>"
        f"<tr><th>{p.x('cmp.score_p')}</th><td class='num'>{e(f.p_value(cmp.score_p))}</td></tr>"
        "</tbody></table>"
    )
    return (
        f'<section id="comparison"><h2>{p.x("section.comparison")}</h2>'
        f'<div class="verdict v-{v.verdict_key(cmp)}">{e(verdict)}</div><p>{intro}</p>'
        f"{mcnemar}<p class='small muted'>{p.ev('report.note.comparison', left_out=cmp.left_out)}</p>"
        f"{_deltas(p, cmp)}{_flipped(p, cmp)}</section>"
    )


def _deltas(p: _Page, cmp: Comparison) -> str:
    rows = []
    for d in cmp.deltas:
        kind = f.metric_kind(d.name)
        cls = ""
        if d.delta is not None and d.low is not None and d.high is not None and (d.low > 0 or d.high < 0):
            improved = (d.delta > 0) == d.higher_is_better
            cls = "good" if improved else "bad"
        rows.append(
            f"<tr><th>{e(f.metric_label(d.name, p.lang))}</th>"
            f"<td class='num'>{e(f.value(d.a, kind, p.currency))}</td>"
            f"<td class='num'>{e(f.value(d.b, kind, p.currency))}</td>"
            f"<td class='num {cls}'>{e(f.delta(d.delta, kind, p.currency, p.lang))}</td>"
            f"<td class='num iv'>{e(f.delta_interval(d.low, d.high, kind, p.currency, p.lang))}</td>"
            f"<td class='num'>{e(f.p_value(d.p_value))}</td><td class='small muted'>{e(d.method)}</td></tr>"
        )
    head = (
        f"<th>{p.x('col.metric')}</th><th class='num'>{e(cmp.a_name)}</th><th class='num'>{e(cmp.b_name)}</th>"
        f"<th class='num'>{p.x('cmp.delta')}</th><th class='num'>{p.x('cmp.interval')}</th>"
        f"<th class='num'>p</th><th>{p.x('cmp.method')}</th>"
    )
    return f"<h3>{p.x('cmp.deltas')}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _flipped(p: _Page, cmp: Comparison) -> str:
    if not cmp.flipped:
        return f"<h3>{p.x('cmp.flipped')}</h3><p class='muted'>{p.x('cmp.no_flips')}</p>"
    cases = {c.id: c for c in p.report.cases}
    rows = []
    for i in v.flipped_order(cmp):
        fc = cmp.flipped[i]
        badge = _badge("pass", p.tr("cmp.fixed")) if fc.change == "fixed" else _badge("fail", p.tr("cmp.broken"))
        case = cases.get(fc.case_id)
        expected = _expected_text(case.label, case.expected) if case else ""
        rows.append(
            f"<tr><td><code>{e(fc.case_id)}</code><br>{badge}</td><td>{e(expected)}</td>"
            f"<td><div class='small muted'>{p.x('cmp.score')} {fc.a_score:.2f}</div>{_output_block(fc.a_output)}</td>"
            f"<td><div class='small muted'>{p.x('cmp.score')} {fc.b_score:.2f}</div>{_output_block(fc.b_output)}</td>"
            "</tr>"
        )
    head = (
        f"<th>{p.x('col.case')}</th><th>{p.x('col.expected')}</th>"
        f"<th style='width:38%'>{e(cmp.a_name)}</th><th style='width:38%'>{e(cmp.b_name)}</th>"
    )
    fixed = sum(1 for fc in cmp.flipped if fc.change == "fixed")
    counts = p.x("cmp.flip_counts", fixed=fixed, broken=len(cmp.flipped) - fixed)
    return (
        f"<h3>{p.x('cmp.flipped')}</h3><p class='small'>{counts}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _output_block(text: str | None) -> str:
    if text is None:
        return "<pre class='output muted'>—</pre>"
    return f"<pre class='output'>{e(text)}</pre>"


def _expected_text(label: str | None, expected: Any) -> str:
    parts = []
    if label is not None:
        parts.append(label)
    if expected is not None and expected != label:
        parts.append(expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False))
    return " · ".join(parts)


# --- cases -------------------------------------------------------------------------------------------------


def _inputs(p: _Page, variables: dict[str, Any]) -> str:
    images, others = [], []
    for name, value in variables.items():
        if is_image_ref(value):
            url = p.thumbs.get(value)
            shown_path = p.path(value)
            if url:
                images.append(f"<img class='thumb' src='{e(url)}' alt='{e(name)}' title='{e(shown_path)}'>")
            else:
                images.append(f"<span class='noimg' title='{e(shown_path)}'>{p.x('case.no_thumbnail')}</span>")
            images.append(f"<div class='small muted mono'>{e(shown_path)}</div>")
            continue
        text = p.path(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > _LONG_VAR:
            shown = (
                f"{e(text[:_LONG_VAR])}…<details><summary>{p.x('case.full_value', n=len(text))}</summary>"
                f"<pre>{e(text)}</pre></details>"
            )
        else:
            shown = e(text)
        others.append(f"<dt>{e(name)}</dt><dd>{shown}</dd>")
    return "".join(images) + (f"<dl class='vars'>{''.join(others)}</dl>" if others else "")


def _summarise_data_urls(value: Any) -> Any:
    # Rendered messages carry images as data: URLs; the report names them instead of embedding them again.
    if isinstance(value, str) and value.startswith("data:") and len(value) > 120:
        mime = value[5:].split(";", 1)[0].split(",", 1)[0]
        return f"[{mime}, {len(value) * 3 // 4 // 1024} KB data URL]"
    if isinstance(value, dict):
        return {k: _summarise_data_urls(x) for k, x in value.items()}
    if isinstance(value, list | tuple):
        return [_summarise_data_urls(x) for x in value]
    return value


def _message(p: _Page, message: Any) -> str:
    if not isinstance(message, dict):
        return f"<div class='msg'><pre>{e(_json(_summarise_data_urls(message)))}</pre></div>"
    role = message.get("role", "?")
    content = message.get("content")
    blocks = []
    if isinstance(content, str):
        blocks.append(f"<pre>{e(content)}</pre>")
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                blocks.append(f"<pre>{e(part.get('text', ''))}</pre>")
            elif isinstance(part, dict) and part.get("type") == "image":
                url = str(part.get("url", ""))
                shown = _summarise_data_urls(url) if url.startswith("data:") else url
                blocks.append(f"<div class='muted'>{p.x('prov.image')}: <span class='mono'>{e(shown)}</span></div>")
            else:
                blocks.append(f"<pre>{e(_json(_summarise_data_urls(part)))}</pre>")
    return f"<div class='msg'><span class='role'>{e(role)}</span>{''.join(blocks)}</div>"


def _provenance(p: _Page, cell: CellResult) -> str:
    prov = dict(cell.provenance or {})
    provider = prov.pop("provider", None)
    model = prov.pop("model", None)
    params = prov.pop("params", None)
    messages = prov.pop("messages", None)
    steps = prov.pop("steps", None)
    cost = f.money(cell.cost, cell.currency or p.currency) if cell.cost is not None else p.tr("prov.cost_unknown")
    rows = [
        ("prov.output_id", f"<code>{e(cell.output_id or '—')}</code>"),
        ("prov.version_id", f"<code>{e(cell.version_id)}</code>"),
        ("prov.provider", e(provider or "—")),
        ("prov.model", e(model or "—")),
        ("prov.latency", e(f"{cell.latency_ms:,.0f} ms")),
        ("prov.tokens", e(p.tr("prov.tokens_value", input=cell.input_tokens, output=cell.output_tokens))),
        ("prov.cost", e(cost)),
        ("prov.cached", e(p.tr("yes") if cell.cached else p.tr("no"))),
    ]
    if params is not None:
        rows.append(("prov.params", f"<pre>{e(_json(params))}</pre>"))
    dl = "".join(f"<dt>{p.x(k)}</dt><dd>{val}</dd>" for k, val in rows)
    body = [f"<dl>{dl}</dl>"]
    if isinstance(messages, list) and messages:
        body.append(f"<div><strong>{p.x('prov.messages')}</strong>{''.join(_message(p, m) for m in messages)}</div>")
    else:
        body.append(f"<p class='muted'>{p.x('prov.no_messages')}</p>")
    if steps:
        body.append(
            f"<div><strong>{p.x('prov.steps')}</strong><pre>{e(_json(_summarise_data_urls(steps)))}</pre></div>"
        )
    if prov:
        body.append(f"<div><strong>{p.x('prov.other')}</strong><pre>{e(_json(_summarise_data_urls(prov)))}</pre></div>")
    summary = p.x("prov.summary", output_id=cell.output_id or "—")
    return f"<details><summary>{summary}</summary><div class='prov'>{''.join(body)}</div></details>"


def _repeat(p: _Page, cell: CellResult, same_as: int | None) -> str:
    status = v.cells_status([cell])
    mark = {"failed": "✗", "error": "!", "passed": "✓", "parked": "⏸"}.get(status, "?")
    score = (
        f"<span class='err'>{p.ev('report.could_not_grade')}</span>"
        if cell.grading_error is not None
        else f"<span>{p.x('case.score')} {cell.score:.2f}</span>"
    )
    head = [
        _badge(_BADGE_KIND.get(status, "pass"), f"{mark} #{cell.repeat + 1}"),
        score,
        f"<span class='muted'>{cell.latency_ms:,.0f} ms</span>",
    ]
    if cell.status != "error" and (cell.predicted_label is not None or cell.expected_label is not None):
        head.append(f"<span class='muted'>→ {e(_label(p, cell.predicted_label))}</span>")
    if cell.cached:
        head.append(f"<span class='tag'>{p.x('case.cached')}</span>")
    body = [f"<div class='head'>{''.join(head)}</div>"]
    if cell.status == "error":
        body.append(f"<pre class='err'>{e(cell.error or p.tr('case.unknown_error'))}</pre>")
    elif same_as is not None:
        body.append(f"<div class='small muted'>{p.x('case.same_output', repeat=same_as + 1)}</div>")
    else:
        body.append(_output_block(cell.output_text))
    if cell.grades:
        items = []
        for g in cell.grades:
            if g.error:
                items.append(
                    f"<li><span class='err'>!</span> <code>{e(g.grader)}</code> {p.ev('report.could_not_grade')}"
                    f" — <span class='err'>{e(g.reason_in(p.lang) or '')}</span></li>"
                )
                continue
            ok = "<span class='good'>✓</span>" if g.passed else "<span class='bad'>✗</span>"
            reason = f" — {e(g.reason_in(p.lang))}" if g.reason else ""
            judge = (
                f" <span class='muted mono'>({p.x('case.judge')} {e(g.judge_output_id)})</span>"
                if g.judge_output_id
                else ""
            )
            items.append(f"<li>{ok} <code>{e(g.grader)}</code> {g.score:.2f}{reason}{judge}</li>")
        body.append(f"<ul class='grades'>{''.join(items)}</ul>")
    body.append(_provenance(p, cell))
    return f"<div class='rep r-{status}'>{''.join(body)}</div>"


def _version_cells(p: _Page, cells: list[CellResult]) -> str:
    if not cells:
        return f"<span class='muted'>{p.x('case.not_run')}</span>"
    out = []
    first_seen: dict[str | None, int] = {}
    for cell in cells:
        key = cell.output_text if cell.status != "error" else None
        same = first_seen.get(key) if key is not None else None
        if key is not None and same is None:
            first_seen[key] = cell.repeat
        out.append(_repeat(p, cell, same))
    return "".join(out)


def _tally(p: _Page, version: str, counts: dict[str, int]) -> str:
    text = p.ev("report.tally_version", version=version, **counts)
    return text + (p.ev("report.tally_parked", parked=counts["parked"]) if counts["parked"] else "")


def _cases(p: _Page) -> str:
    views = v.case_views(p.report)
    counts = {s: sum(1 for x in views if x.status == s) for s in ("failed", "error", "parked", "passed")}
    head = (
        f"<th>{p.x('col.status')}</th><th>{p.x('col.case')}</th><th>{p.x('col.inputs')}</th>"
        f"<th>{p.x('col.expected')}</th>"
        + "".join(f"<th>{e(name)} <code class='muted'>{e(f.short_id(vid, 8))}</code></th>" for name, vid in p.versions)
    )
    rows = []
    for view in views:
        case = view.case
        tags = "".join(f"<span class='tag'>{e(tag)}</span>" for tag in case.tags)
        source = f"<div class='small muted mono'>{e(p.path(case.source))}</div>" if case.source else ""
        reason = f"<div class='small muted'>{e(case.reason)}</div>" if case.reason else ""
        outs = "".join(f"<td class='out'>{_version_cells(p, view.cells.get(vid, []))}</td>" for _, vid in p.versions)
        rows.append(
            f"<tr class='st-{view.status}' data-status='{view.status}'><td>{_status_badge(p, view.status)}</td>"
            f"<td><code>{e(case.id)}</code><div>{tags}</div>{source}</td>"
            f"<td>{_inputs(p, case.vars)}</td><td>{e(_expected_text(case.label, case.expected))}{reason}</td>"
            f"{outs}</tr>"
        )
    options = "".join(
        f"<option value='{s}'>{p.ev(f'report.filter.{s}')} ({counts[s]})</option>"
        for s in ("failed", "error", "parked", "passed")
        if s != "parked" or counts[s]  # only runs with approval tools have parked cells
    )
    # Counted per version: a case that fails in one version and passes in another is one of each.
    per_version = "".join(f"<li>{_tally(p, name, v.version_tally(views, vid))}</li>" for name, vid in p.versions)
    tally = (
        f"<p>{p.ev('report.tally_head', cases=len(views), versions=len(p.versions))}</p>"
        f"<ul class='tally'>{per_version}</ul><p class='small muted'>{p.ev('report.tally_order')}</p>"
    )
    # Fixed columns, then an equal share per version that never drops below _VERSION_MIN (the box scrolls then).
    columns = "<colgroup><col class='c-status'><col class='c-case'><col class='c-inputs'><col class='c-expected'>"
    columns += "<col>" * len(p.versions) + "</colgroup>"
    min_width = _FIXED_COLUMNS + _VERSION_MIN * len(p.versions)
    return (
        f'<section id="cases"><h2>{p.x("section.cases")}</h2>{tally}'
        f"<div class='filter'><input id='case-q' type='search' placeholder='{p.x('case.filter')}'>"
        f"<select id='case-s'><option value=''>{p.x('case.all')}</option>{options}</select></div>"
        f"<div class='scroll cases-box'><table class='cases' style='min-width: {min_width}px'>{columns}"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


# --- page --------------------------------------------------------------------------------------------------


def render_html(report: RunReport, language: str = "en") -> str:
    """The whole report as one self-contained HTML page in ``language`` (``en`` or ``ko``)."""
    p = _Page(report, language)
    sections = [
        _header(p),
        _summary(p),
        _criteria(p),
        _slices(p),
        _classification(p),
        _latency(p),
        _cost(p),
        _stability(p),
        _judges(p),
        calibration_section(report.calibration, p.colors, language),
        _comparison(p),
        _cases(p),
    ]
    footer = p.x("footer", run=report.run.id)
    return (
        f'<!DOCTYPE html>\n<html lang="{e(language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="generator" content="andon"><title>{p.x("title", feature=report.run.feature)}</title>'
        f"<style>{CSS}</style></head><body><main>{''.join(sections)}<footer>{footer}</footer></main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
