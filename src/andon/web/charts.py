"""Small inline SVG charts drawn by our own code: no script, no library, readable by screen readers.

>>> points([0, 5, 10], width=100, height=20)
[(1.0, 19.0), (50.0, 10.0), (99.0, 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_PAD = 1.0


def points(values: Sequence[float], *, width: float, height: float) -> list[tuple[float, float]]:
    """Each value's (x, y) in a ``width`` × ``height`` box: evenly spaced, zero at the bottom, the max at the top."""
    if not values:
        return []
    top = max(max(values), 0.0)
    span_x = width - 2 * _PAD
    span_y = height - 2 * _PAD
    step = span_x / (len(values) - 1) if len(values) > 1 else 0.0
    out = []
    for i, value in enumerate(values):
        share = (max(value, 0.0) / top) if top > 0 else 0.0
        x = _PAD + i * step if len(values) > 1 else width / 2
        out.append((round(x, 2), round(height - _PAD - share * span_y, 2)))
    return out


def sparkline(values: Sequence[float], *, label: str, kind: str = "line", width: int = 120, height: int = 28) -> Markup:
    """A line (or bars) over ``values`` with ``label`` as its accessible name; an empty frame for no values."""
    title = escape(label)
    head = (
        f'<svg class="chart chart-{escape(kind)}" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        f'<line class="axis" x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}"/>'
    )
    body = ""
    placed = points(values, width=width, height=height)
    if kind == "bars" and placed:
        bar = max((width - 2 * _PAD) / len(placed) - 1, 1.0)
        for x, y in placed:
            left = min(max(x - bar / 2, 0.0), width - bar)
            body += f'<rect x="{left:.2f}" y="{y}" width="{bar:.2f}" height="{max(height - _PAD - y, 0):.2f}"/>'
    elif placed:
        path = " ".join(f"{x},{y}" for x, y in placed)
        body = f'<polyline points="{path}" fill="none"/>'
    return Markup(head + body + "</svg>")


def scaled(values: Sequence[float], *, low: float, high: float, width: float, height: float, pad: float) -> list[
    tuple[float, float]
]:  # fmt: skip
    """Each value's (x, y) with ``low`` at the bottom and ``high`` at the top of the box (inside ``pad``)."""
    span_x, span_y = width - 2 * pad, height - 2 * pad
    step = span_x / (len(values) - 1) if len(values) > 1 else 0.0
    size = high - low if high > low else 1.0
    return [
        (round(pad + i * step if len(values) > 1 else width / 2, 2), round(height - pad - (v - low) / size * span_y, 2))
        for i, v in enumerate(values)
    ]


def trend(
    values: Sequence[float], *, label: str, marks: Sequence[tuple[float, str]] = (), width: int = 480, height: int = 120
) -> Markup:
    """A line with a dot per value, scaled to the values and ``marks`` (value, class): dashed lines such as a target."""
    title = escape(label)
    pad = 6.0
    every = [*values, *(v for v, _ in marks)]
    low, high = (min(every), max(every)) if every else (0.0, 1.0)
    head = (
        f'<svg class="chart chart-trend" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        f'<line class="axis" x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}"/>'
    )
    body = ""
    for value, kind in marks:
        [(_, y)] = scaled([value], low=low, high=high, width=width, height=height, pad=pad)
        body += f'<line class="mark mark-{escape(kind)}" x1="0" y1="{y}" x2="{width}" y2="{y}"/>'
    placed = scaled(values, low=low, high=high, width=width, height=height, pad=pad)
    if len(placed) > 1:
        body += f'<polyline points="{" ".join(f"{x},{y}" for x, y in placed)}" fill="none"/>'
    body += "".join(f'<circle cx="{x}" cy="{y}" r="3"/>' for x, y in placed)
    return Markup(head + body + "</svg>")
