"""Small inline SVG charts drawn by hand: latency histograms and rate bars with interval whiskers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

PALETTE = ("#3b6fb6", "#d9822b", "#2f9e6e", "#8e5cc2", "#c2415d", "#5a7d8c")
_AXIS = "#6b7280"
_GRID = "#e5e7eb"


def _nice_step(raw: float) -> float:
    # Steps of 1, 2, 2.5 or 5 times a power of ten read well on an axis.
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * power:
            return m * power
    return 10.0 * power


def bin_edges(values: list[float], target_bins: int = 20) -> list[float]:
    """Shared histogram edges from 0 to just above the largest value, with a readable step."""
    top = max(values, default=0.0)
    step = _nice_step(top / target_bins if top > 0 else 1.0)
    n = max(1, math.ceil(top / step + 1e-9))
    if n * step <= top:  # the largest value must fall inside the last bin
        n += 1
    return [i * step for i in range(n + 1)]


def _ms(v: float) -> str:
    return f"{v / 1000:g} s" if v >= 1000 else f"{v:g} ms"


@dataclass(frozen=True, slots=True)
class Marker:
    """A labelled vertical line on a chart (e.g. p95)."""

    at: float
    label: str


def histogram(
    values: list[float], edges: list[float], title: str, color: str, markers: list[Marker], axis_label: str
) -> str:
    """An SVG histogram of ``values`` over ``edges`` with dashed marker lines."""
    width, height = 560, 190
    left, right, top, bottom = 44, 14, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    counts = [0] * (len(edges) - 1)
    span = edges[-1] - edges[0] or 1.0
    for v in values:
        i = min(len(counts) - 1, max(0, int((v - edges[0]) / span * len(counts))))
        counts[i] += 1
    peak = max(counts, default=0) or 1

    def x(v: float) -> float:
        return left + (v - edges[0]) / span * plot_w

    def y(c: float) -> float:
        return top + plot_h - c / peak * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" class="ct">{escape(title)}</text>',
    ]
    for c in sorted({0, peak // 2, peak}):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(c):.1f}" y2="{y(c):.1f}" stroke="{_GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y(c) + 4:.1f}" class="tick" text-anchor="end">{c}</text>')
    bar_w = plot_w / len(counts)
    for i, c in enumerate(counts):
        if c:
            parts.append(
                f'<rect x="{x(edges[i]) + 0.5:.1f}" y="{y(c):.1f}" width="{max(1.0, bar_w - 1):.1f}" '
                f'height="{top + plot_h - y(c):.1f}" fill="{color}"><title>{_ms(edges[i])}–{_ms(edges[i + 1])}: '
                f"{c}</title></rect>"
            )
    step = max(1, math.ceil((len(edges) - 1) / 6))
    for edge in edges[::step]:
        parts.append(
            f'<text x="{x(edge):.1f}" y="{top + plot_h + 15}" class="tick" text-anchor="middle">{_ms(edge)}</text>'
        )
    base = top + plot_h
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="{_AXIS}"/>')
    for k, marker in enumerate(markers):
        mx = x(marker.at)
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{base}" stroke="#111827" stroke-dasharray="4 3"/>'
        )
        anchor = "end" if mx > width - 90 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(
            f'<text x="{mx + dx:.1f}" y="{top + 10 + 12 * k}" class="tick mk" text-anchor="{anchor}">'
            f"{escape(marker.label)}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" class="tick" text-anchor="middle">'
        f"{escape(axis_label)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class RateBar:
    """One bar: a share in [0, 1] with its interval and an optional threshold tick."""

    label: str
    value: float
    low: float | None
    high: float | None
    color: str
    threshold: float | None = None


def rate_bars(bars: list[RateBar], title: str, threshold_label: str) -> str:
    """Horizontal bars on a 0–100% axis with interval whiskers and dashed threshold ticks."""
    width, label_w, right, top, row = 640, 190, 70, 30, 30
    plot_w = width - label_w - right
    height = top + row * len(bars) + 34

    def x(v: float) -> float:
        return label_w + max(0.0, min(1.0, v)) * plot_w

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="4" y="16" class="ct">{escape(title)}</text>',
    ]
    bottom = top + row * len(bars)
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" y2="{bottom}" stroke="{_GRID}"/>')
        parts.append(
            f'<text x="{x(tick):.1f}" y="{bottom + 14}" class="tick" text-anchor="middle">{tick * 100:.0f}%</text>'
        )
    for i, bar in enumerate(bars):
        y0 = top + i * row
        mid = y0 + row / 2
        parts.append(
            f'<text x="{label_w - 8}" y="{mid + 4:.1f}" class="lbl" text-anchor="end">{escape(bar.label)}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y0 + 7}" width="{x(bar.value) - label_w:.1f}" height="{row - 14}" '
            f'fill="{bar.color}" opacity="0.85"/>'
        )
        if bar.low is not None and bar.high is not None:
            lo, hi = x(bar.low), x(bar.high)
            parts.append(
                f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{mid}" y2="{mid}" stroke="#111827" stroke-width="1.5"/>'
            )
            for end in (lo, hi):
                parts.append(
                    f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{mid - 6}" y2="{mid + 6}" stroke="#111827" '
                    'stroke-width="1.5"/>'
                )
        if bar.threshold is not None:
            tx = x(bar.threshold)
            parts.append(
                f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y0 + 2}" y2="{y0 + row - 2}" stroke="#c5221f" '
                f'stroke-width="2" stroke-dasharray="3 2"><title>{escape(threshold_label)} '
                f"{bar.threshold * 100:.1f}%</title></line>"
            )
        parts.append(f'<text x="{width - right + 6}" y="{mid + 4:.1f}" class="lbl val">{bar.value * 100:.1f}%</text>')
    if any(b.threshold is not None for b in bars):
        ly = bottom + 28
        parts.append(
            f'<line x1="{label_w}" x2="{label_w + 14}" y1="{ly - 4}" y2="{ly - 4}" stroke="#c5221f" '
            'stroke-width="2" stroke-dasharray="3 2"/>'
        )
        parts.append(f'<text x="{label_w + 20}" y="{ly}" class="tick">{escape(threshold_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
