"""Small inline SVG charts drawn by our own code: no script, no library, readable by screen readers.

>>> points([0, 5, 10], width=100, height=20)
[(1.0, 19.0), (50.0, 10.0), (99.0, 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
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


# --- monpages: a monitor's points over time, its thresholds and its warn/fail points ---------------------

Point = tuple[float, float]  # (x, y): x is usually a POSIX time
Threshold = tuple[str, float]  # (kind, value): kind is "warn" or "fail"
Mark = tuple[str, float, float]  # (kind, x, y)


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps data (x, y) into a ``width`` × ``height`` box with ``pad`` pixels of margin."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: float
    height: float
    pad: float = 4.0

    def at(self, x: float, y: float) -> tuple[float, float]:
        """The pixel position of (x, y), clamped into the box."""
        sx = (x - self.x0) / (self.x1 - self.x0) if self.x1 > self.x0 else 0.5
        sy = (y - self.y0) / (self.y1 - self.y0) if self.y1 > self.y0 else 0.5
        sx, sy = min(max(sx, 0.0), 1.0), min(max(sy, 0.0), 1.0)
        px = self.pad + sx * (self.width - 2 * self.pad)
        py = self.height - self.pad - sy * (self.height - 2 * self.pad)
        return _cents(px), _cents(py)

    def place(self, xs: Sequence[float], ys: Sequence[float]) -> list[tuple[float, float]]:
        """:meth:`at` of many points at once: the same arithmetic in numpy, so the same pixels, much faster."""
        if not xs:
            return []
        x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        sx = (x - self.x0) / (self.x1 - self.x0) if self.x1 > self.x0 else np.full_like(x, 0.5)
        sy = (y - self.y0) / (self.y1 - self.y0) if self.y1 > self.y0 else np.full_like(y, 0.5)
        px = self.pad + np.clip(sx, 0.0, 1.0) * (self.width - 2 * self.pad)
        py = self.height - self.pad - np.clip(sy, 0.0, 1.0) * (self.height - 2 * self.pad)
        return list(zip((np.rint(px * 100) / 100).tolist(), (np.rint(py * 100) / 100).tolist(), strict=True))


def _cents(value: float) -> float:
    """``value`` to two decimals as numpy's ``rint(value * 100) / 100`` does it (so :meth:`Scale.place` agrees)."""
    return round(value * 100) / 100


def scale_for(points: Sequence[Point], thresholds: Sequence[Threshold] = (), *, width: float, height: float,
              span: tuple[float, float] | None = None) -> Scale:  # fmt: skip
    """A scale showing every point and threshold: zero included, x over ``span`` when given."""
    ys = [y for _, y in points] + [v for _, v in thresholds] + [0.0]
    xs = [x for x, _ in points]
    x0, x1 = span if span is not None else ((min(xs), max(xs)) if xs else (0.0, 1.0))
    y0, y1 = min(ys), max(ys)
    if y1 == y0:
        y1 = y0 + 1.0
    y1 += (y1 - y0) * 0.05  # a little headroom so a point on the top line stays visible
    return Scale(x0, x1, y0, y1, width, height)


def thinned(placed: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most two pixels per pixel column (its lowest and highest, in order): a week of minutes stays small,
    and a one-point spike still shows."""
    out: list[tuple[float, float]] = []
    column: list[tuple[float, float]] = []
    for p in placed:
        if column and int(p[0]) != int(column[0][0]):
            out += _extremes(column)
            column = []
        column.append(p)
    return out + _extremes(column)


def _extremes(column: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(column) <= 2:
        return column
    low, high = min(column, key=lambda p: p[1]), max(column, key=lambda p: p[1])
    return sorted({low, high}, key=column.index)


Band = tuple[float, float | None, float | None]  # (x, low, high): a detector's expected range; None is a gap


def band_areas(band: Sequence[Band], scale: Scale) -> list[list[tuple[float, float]]]:
    """One closed outline per unbroken stretch of ``band``, at most one upper and one lower corner per pixel
    column (the column's highest high and lowest low), so a week of minutes stays a few hundred corners."""
    areas: list[list[tuple[float, float]]] = []
    upper: list[tuple[float, float]] = []
    lower: list[tuple[float, float]] = []

    def close() -> None:
        if upper:
            areas.append(upper + lower[::-1])
        upper.clear()
        lower.clear()

    known = [(x, low, high) for x, low, high in band if low is not None and high is not None]
    tops = iter(scale.place([x for x, _, _ in known], [high for _, _, high in known]))
    bottoms = iter(scale.place([x for x, _, _ in known], [low for _, low, _ in known]))
    for _, low, high in band:
        if low is None or high is None:
            close()
            continue
        (px, top), (_, bottom) = next(tops), next(bottoms)
        if upper and int(px) == int(upper[-1][0]):
            upper[-1] = (upper[-1][0], min(upper[-1][1], top))
            lower[-1] = (lower[-1][0], max(lower[-1][1], bottom))
        else:
            upper.append((px, top))
            lower.append((px, bottom))
    close()
    return areas


Span = tuple[str, float, float, float, float]  # (kind, left, top, right, bottom) in pixels


def mark_spans(marks: Sequence[Mark], scale: Scale, *, gap: float = 1.0) -> list[Span]:
    """``marks`` of each kind merged into boxes: a mark within ``gap`` pixels of the previous one of its kind
    (in the given order, oldest first) joins its box, so a long run of warn/fail points is one element."""
    spans: list[Span] = []
    open_: dict[str, int] = {}  # kind -> index in spans of its last box
    placed = scale.place([x for _, x, _ in marks], [y for _, _, y in marks])
    for (kind, _, _), (px, py) in zip(marks, placed, strict=True):
        at = open_.get(kind)
        if at is not None and px - spans[at][3] <= gap:
            _, left, top, right, bottom = spans[at]
            spans[at] = (kind, left, min(top, py), max(right, px), max(bottom, py))
        else:
            open_[kind] = len(spans)
            spans.append((kind, px, py, px, py))
    return spans


def _span_svg(span: Span) -> str:
    kind, left, top, right, bottom = span
    if right - left < 1.0 and bottom - top < 1.0:  # one point (or several on one pixel): a circle
        return f'<circle class="mark mark-{escape(kind)}" cx="{left}" cy="{top}" r="3.5"/>'
    r = 3.5  # the box reaches as far as a circle around its corner points would
    return (
        f'<rect class="mark mark-{escape(kind)} mark-span" x="{left - r:.2f}" y="{top - r:.2f}" '
        f'width="{right - left + 2 * r:.2f}" height="{bottom - top + 2 * r:.2f}" rx="{r}"/>'
    )


def line_chart(points: Sequence[Point], *, label: str, thresholds: Sequence[Threshold] = (),
               marks: Sequence[Mark] = (), band: Sequence[Band] = (), span: tuple[float, float] | None = None,
               width: int = 640, height: int = 180) -> Markup:  # fmt: skip
    """A line over ``points`` with dashed ``thresholds``, a shaded expected ``band`` and ``marks`` (circles, or
    boxes around runs of them); ``label`` is its accessible name."""
    title = escape(label)
    edges = [(kind, v) for x, low, high in band for kind, v in (("band", low), ("band", high)) if v is not None]
    scale = scale_for(points, [*thresholds, *edges], width=width, height=height, span=span)
    parts = [
        f'<svg class="chart chart-series" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{title}</title>"
    ]
    for area in band_areas(band, scale):
        corners = " ".join(f"{px},{py}" for px, py in area)
        parts.append(f'<polygon class="band" points="{corners}"/>')
    _, base = scale.at(scale.x0, max(scale.y0, 0.0))
    parts.append(f'<line class="axis" x1="0" y1="{base}" x2="{width}" y2="{base}"/>')
    for kind, value in thresholds:
        _, y = scale.at(scale.x0, value)
        parts.append(f'<line class="threshold threshold-{escape(kind)}" x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
    if points:
        path = " ".join(f"{px},{py}" for px, py in thinned(scale.place([x for x, _ in points], [y for _, y in points])))
        parts.append(f'<polyline class="series" points="{path}" fill="none"/>')
    parts += [_span_svg(one) for one in mark_spans(marks, scale)]
    return Markup("".join(parts) + "</svg>")
