"""The HTML report's calibration section: a reliability diagram and a risk–coverage curve per version, as SVG."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from andon.evals.calibration import Calibration, CurvePoint, ReliabilityBin
from andon.messages import t

__all__ = ["calibration_section", "reliability_svg", "risk_coverage_svg"]

_W, _H = 300, 260
_L, _R, _T, _B = 40, 12, 26, 40
_AXIS, _GRID, _IDEAL = "#6b7280", "#e5e7eb", "#9ca3af"


def _x(v: float) -> float:
    return _L + v * (_W - _L - _R)


def _y(v: float) -> float:
    return _T + (1.0 - v) * (_H - _T - _B)


def _frame(title: str, x_label: str, y_label: str) -> list[str]:
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{_L}" y="16" class="ct">{escape(title)}</text>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{_y(tick):.1f}" y2="{_y(tick):.1f}" stroke="{_GRID}"/>')
        parts.append(f'<text x="{_L - 5}" y="{_y(tick) + 4:.1f}" class="tick" text-anchor="end">{tick:g}</text>')
        parts.append(f'<text x="{_x(tick):.1f}" y="{_H - _B + 14}" class="tick" text-anchor="middle">{tick:g}</text>')
    parts.append(f'<line x1="{_L}" x2="{_W - _R}" y1="{_y(0):.1f}" y2="{_y(0):.1f}" stroke="{_AXIS}"/>')
    parts.append(
        f'<text x="{(_L + _W - _R) / 2:.1f}" y="{_H - 8}" class="tick" text-anchor="middle">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="10" y="{(_T + _H - _B) / 2:.1f}" class="tick" text-anchor="middle" '
        f'transform="rotate(-90 10 {(_T + _H - _B) / 2:.1f})">{escape(y_label)}</text>'
    )
    return parts


def reliability_svg(bins: Sequence[ReliabilityBin], title: str, color: str, language: str = "en") -> str:
    """Accuracy per confidence bin (bars with Wilson whiskers) against the diagonal of perfect calibration."""
    parts = _frame(
        title, t("evalcal.report.confidence", language=language), t("evalcal.report.accuracy", language=language)
    )
    parts.append(
        f'<line x1="{_x(0):.1f}" y1="{_y(0):.1f}" x2="{_x(1):.1f}" y2="{_y(1):.1f}" stroke="{_IDEAL}" '
        f'stroke-dasharray="4 3"/>'
    )
    for b in bins:
        if not b.n or b.accuracy is None:
            continue
        x0, x1 = _x(b.low) + 1, _x(b.high) - 1
        tip = t("evalcal.report.bin_tip", language=language, low=f"{b.low:g}", high=f"{b.high:g}", n=b.n,
                accuracy=f"{b.accuracy:.1%}", confidence=f"{b.mean_confidence or 0:.2f}")  # fmt: skip
        parts.append(
            f'<rect x="{x0:.1f}" y="{_y(b.accuracy):.1f}" width="{max(1.0, x1 - x0):.1f}" '
            f'height="{_y(0) - _y(b.accuracy):.1f}" fill="{color}" fill-opacity="0.75">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if b.accuracy_low is not None and b.accuracy_high is not None:
            mid = (x0 + x1) / 2
            parts.append(
                f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{_y(b.accuracy_low):.1f}" y2="{_y(b.accuracy_high):.1f}" '
                f'stroke="#111827"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def risk_coverage_svg(curve: Sequence[CurvePoint], title: str, color: str, language: str = "en") -> str:
    """Precision of the automated answers against the share automated, lowering the threshold step by step."""
    parts = _frame(
        title, t("evalcal.report.coverage", language=language), t("evalcal.report.precision", language=language)
    )
    points = " ".join(f"{_x(c.coverage):.1f},{_y(c.precision):.1f}" for c in curve)
    if points:
        parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def calibration_section(calibrations: Sequence[Calibration], colors: dict[str, str], language: str = "en") -> str:
    """The section (empty when no version's answers carry a confidence)."""
    if not calibrations:
        return ""

    def tr(key: str, **values: object) -> str:
        return escape(t(f"evalcal.report.{key}", language=language, **values))

    charts, rows = [], []
    for c in calibrations:
        color = colors.get(c.version_id, "#3b6fb6")
        charts.append(reliability_svg(c.bins, t("evalcal.report.reliability_title", language=language,
                                                 version=c.version_name), color, language))  # fmt: skip
        charts.append(risk_coverage_svg(c.curve, t("evalcal.report.curve_title", language=language,
                                                   version=c.version_name), color, language))  # fmt: skip
        ece = "—" if c.ece is None else f"{c.ece:.3f}"
        rows.append(
            f"<tr><th>{escape(c.version_name)}</th><td>{escape(c.source)}</td><td class='num'>{c.n}</td>"
            f"<td class='num'>{c.skipped}</td><td class='num'>{ece}</td></tr>"
        )
    head = "".join(f"<th>{tr(k)}</th>" for k in ("col_version", "col_source", "col_n", "col_skipped", "col_ece"))
    return (
        f'<section id="calibration"><h2>{tr("title")}</h2><div class="cards">{"".join(charts)}</div>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class='small muted'>{tr('note')}</p></section>"
    )
