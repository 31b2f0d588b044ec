"""The robustness report: flip rates with their intervals and the flipped cases, in the terminal, Markdown,
HTML and JSON; every label from the catalogue (``evalrobust.report.*``)."""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from andon.evals.report import _format as f
from andon.evals.robustness import ANY, FlippedCase, FlipRate, RobustnessReport
from andon.messages import t

__all__ = ["print_robustness", "robustness_html", "robustness_markdown", "robustness_to_dict"]

MAX_FLIPPED = 20  # in the terminal and Markdown; HTML and JSON list every flipped case
_COLUMNS = ("version", "perturbation", "pairs", "flips", "flip_rate", "broke", "fixed", "skipped")


def _tr(key: str, language: str, **values: object) -> str:
    return t(f"evalrobust.report.{key}", language=language, **values)


def _name(rate: FlipRate, language: str) -> str:
    return _tr("any", language) if rate.perturbation == ANY else rate.perturbation


def _row(rate: FlipRate, language: str) -> list[str]:
    shown = f"{f.value(rate.rate, 'percent')} {f.interval(rate.low, rate.high, 'percent')}" if rate.pairs else "—"
    per = rate.perturbation != ANY
    return [
        rate.version_name, _name(rate, language), str(rate.pairs), str(rate.flips), shown,
        str(rate.broke) if per else "", str(rate.fixed) if per else "", str(rate.not_compared) if per else "",
    ]  # fmt: skip


def _change(case: FlippedCase, limit: int = 80) -> str:
    parts = [f"{k}: {f.one_line(str(after), limit)}" for k, (_, after) in case.changes.items()]
    return "; ".join(parts) or "—"


def _answers(case: FlippedCase, language: str) -> str:
    return f"{case.original} → {case.perturbed} ({_tr('direction.' + case.direction, language)})"


def print_robustness(report: RobustnessReport, console: Console, language: str = "en") -> None:
    """Flip rates per version and perturbation, then the first flipped cases."""
    title = _tr("title", language, run_id=report.run_id, seed=report.seed)
    table = Table(title=Text(title), title_justify="left")
    for column in _COLUMNS:
        table.add_column(_tr(f"col.{column}", language), justify="left" if column in _COLUMNS[:2] else "right")
    for rate in report.rates:
        table.add_row(*(Text(cell) for cell in _row(rate, language)))
    console.print(table)
    if not report.rates:
        console.print(Text(_tr("no_pairs", language), style="yellow"))
        return
    if not report.flipped:
        console.print(Text(_tr("none_flipped", language), style="green"))
        return
    flipped = Table(title=Text(_tr("flipped_title", language)), title_justify="left")
    for column in ("version", "perturbation", "case", "change", "answers"):
        flipped.add_column(_tr(f"col.{column}", language))
    for case in report.flipped[:MAX_FLIPPED]:
        flipped.add_row(
            Text(case.version_name), Text(case.perturbation), Text(case.original_id), Text(_change(case)),
            Text(_answers(case, language)),
        )  # fmt: skip
    console.print(flipped)
    if len(report.flipped) > MAX_FLIPPED:
        more = _tr("more", language, n=len(report.flipped) - MAX_FLIPPED, run_id=report.run_id)
        console.print(Text(more, style="dim"))


def _md(text: str) -> str:
    flat = f.one_line(text, 200)
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def robustness_markdown(report: RobustnessReport, language: str = "en") -> str:
    """The report as Markdown (a CI summary section)."""
    lines = [f"## {_md(_tr('title', language, run_id=report.run_id, seed=report.seed))}", ""]
    lines.append("| " + " | ".join(_tr(f"col.{c}", language) for c in _COLUMNS) + " |")
    lines.append("|---|---|" + "---:|" * (len(_COLUMNS) - 2))
    lines += ["| " + " | ".join(_md(c) for c in _row(rate, language)) + " |" for rate in report.rates]
    lines.append("")
    if not report.flipped:
        return "\n".join([*lines, _tr("none_flipped", language), ""])
    lines += [f"### {_md(_tr('flipped_title', language))}", ""]
    heads = [_tr(f"col.{c}", language) for c in ("version", "perturbation", "case", "change", "answers")]
    lines += ["| " + " | ".join(heads) + " |", "|---|---|---|---|---|"]
    for case in report.flipped[:MAX_FLIPPED]:
        row = [case.version_name, case.perturbation, case.original_id, _change(case), _answers(case, language)]
        lines.append("| " + " | ".join(_md(c) for c in row) + " |")
    if len(report.flipped) > MAX_FLIPPED:
        lines += ["", _md(_tr("more", language, n=len(report.flipped) - MAX_FLIPPED, run_id=report.run_id))]
    return "\n".join([*lines, ""])


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}table{border-collapse:collapse;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}td.num{text-align:right}"
    "caption{text-align:left;font-weight:600;padding:.3rem 0}"
)


def robustness_html(report: RobustnessReport, language: str = "en") -> str:
    """The report as one self-contained HTML page (every flipped case listed)."""
    e = html.escape
    title = e(_tr("title", language, run_id=report.run_id, seed=report.seed))
    head = "".join(f"<th scope='col'>{e(_tr(f'col.{c}', language))}</th>" for c in _COLUMNS)
    rows = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if i > 1 else ''}>{e(c)}</td>" for i, c in enumerate(_row(r, language)))
        + "</tr>"
        for r in report.rates
    )
    body = f"<table><caption>{title}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if report.flipped:
        cols = ("version", "perturbation", "case", "change", "answers")
        head = "".join(f"<th scope='col'>{e(_tr(f'col.{c}', language))}</th>" for c in cols)
        rows = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in (
                case.version_name, case.perturbation, case.original_id, _change(case, 400), _answers(case, language)
            )) + "</tr>"
            for case in report.flipped
        )  # fmt: skip
        caption = e(_tr("flipped_title", language))
        body += f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    else:
        body += f"<p>{e(_tr('none_flipped', language))}</p>"
    return (
        f"<!doctype html><html lang='{e(language)}'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>"
    )


def robustness_to_dict(report: RobustnessReport) -> dict[str, Any]:
    """The report as JSON-ready data, each rate with its value."""
    data = dataclasses.asdict(report)
    for row, rate in zip(data["rates"], report.rates, strict=True):
        row["rate"] = rate.rate
    for row in data["flipped"]:
        row["changes"] = {k: {"original": a, "perturbed": b} for k, (a, b) in row["changes"].items()}
    return data
