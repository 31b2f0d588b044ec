"""Small inline SVG charts drawn by our own code: no script, no library, readable by screen readers.

>>> points([0, 5, 10], width=100, height=20)
[(1.0, 19.0), (50.0, 10.0), (99.0, 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from markupsafe import Markup, escape

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

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
        if len(xs) == 0:
            return []
        px, py = self.place_arrays(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
        return list(zip(px.tolist(), py.tolist(), strict=True))

    def place_arrays(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """:meth:`place` as two arrays of pixels (x, y), for callers that keep working in numpy."""
        sx = (x - self.x0) / (self.x1 - self.x0) if self.x1 > self.x0 else np.full_like(x, 0.5)
        sy = (y - self.y0) / (self.y1 - self.y0) if self.y1 > self.y0 else np.full_like(y, 0.5)
        px = self.pad + np.clip(sx, 0.0, 1.0) * (self.width - 2 * self.pad)
        py = self.height - self.pad - np.clip(sy, 0.0, 1.0) * (self.height - 2 * self.pad)
        return np.rint(px * 100) / 100, np.rint(py * 100) / 100


def _cents(value: float) -> float:
    """``value`` to two decimals as numpy's ``rint(value * 100) / 100`` does it (so :meth:`Scale.place` agrees)."""
    return round(value * 100) / 100


def scale_for(points: Sequence[Point], thresholds: Sequence[Threshold] = (), *, width: float, height: float,
              span: tuple[float, float] | None = None) -> Scale:  # fmt: skip
    """A scale showing every point and threshold: zero included, x over ``span`` when given."""
    xs = np.asarray([x for x, _ in points], dtype=float)
    ys = np.asarray([y for _, y in points], dtype=float)
    return _scale(xs, ys, [v for _, v in thresholds], width=width, height=height, span=span)


def _scale(xs: FloatArray, ys: FloatArray, levels: Sequence[float] | FloatArray, *, width: float, height: float,
           span: tuple[float, float] | None) -> Scale:  # fmt: skip
    """:func:`scale_for` of points as two arrays and the other values to keep in view (``levels``)."""
    every = np.concatenate([ys, np.asarray(levels, dtype=float), [0.0]])
    x0, x1 = span if span is not None else ((float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0))
    y0, y1 = float(every.min()), float(every.max())
    if y1 == y0:
        y1 = y0 + 1.0
    y1 += (y1 - y0) * 0.05  # a little headroom so a point on the top line stays visible
    return Scale(x0, x1, y0, y1, width, height)


def _runs(keys: npt.NDArray[np.int64]) -> IntArray:
    """Where each run of equal neighbours in ``keys`` starts (index of its first element)."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.intp)
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    return np.flatnonzero(new)


def _columns(px: FloatArray) -> npt.NDArray[np.int64]:
    """Each pixel's column as ``int(x)`` gives it (towards zero)."""
    return np.trunc(px).astype(np.int64)


def thin_index(px: FloatArray, py: FloatArray) -> IntArray:
    """The indices :func:`thinned` keeps, in order: per run of pixels in one column, all of a run of one or two,
    else its first lowest and first highest ``py``."""
    n = len(px)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    starts = _runs(_columns(px))
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(len(starts)), sizes)
    keep = np.repeat(sizes <= 2, sizes)
    for extreme in (np.minimum.reduceat(py, starts), np.maximum.reduceat(py, starts)):
        hits = np.flatnonzero(py == extreme[group])  # every run has one at least: its extreme itself
        first = np.ones(len(hits), dtype=bool)
        first[1:] = group[hits[1:]] != group[hits[:-1]]
        keep[hits[first]] = True  # a run's first lowest (then first highest), as min() and max() pick
    return np.flatnonzero(keep)


def thinned(placed: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most two pixels per pixel column (its lowest and highest, in order): a week of minutes stays small,
    and a one-point spike still shows."""
    if not placed:
        return []
    px = np.asarray([x for x, _ in placed], dtype=float)
    py = np.asarray([y for _, y in placed], dtype=float)
    return [placed[i] for i in thin_index(px, py).tolist()]


Band = tuple[float, float | None, float | None]  # (x, low, high): a detector's expected range; None is a gap


def band_areas(band: Sequence[Band], scale: Scale) -> list[list[tuple[float, float]]]:
    """One closed outline per unbroken stretch of ``band``, at most one upper and one lower corner per pixel
    column (the column's highest high and lowest low), so a week of minutes stays a few hundred corners."""
    bx = np.asarray([x for x, _, _ in band], dtype=float)
    low = np.asarray([np.nan if v is None else v for _, v, _ in band], dtype=float)
    high = np.asarray([np.nan if v is None else v for _, _, v in band], dtype=float)
    return _band_areas(bx, low, high, scale)


def _band_areas(bx: FloatArray, low: FloatArray, high: FloatArray, scale: Scale) -> list[list[tuple[float, float]]]:
    """:func:`band_areas` of three arrays; NaN in ``low`` or ``high`` is a gap."""
    known = np.flatnonzero(~np.isnan(low) & ~np.isnan(high))
    if len(known) == 0:
        return []
    px, tops = scale.place_arrays(bx[known], high[known])
    _, bottoms = scale.place_arrays(bx[known], low[known])
    stretch = np.ones(len(known), dtype=bool)  # a gap (or the start) begins a stretch
    stretch[1:] = known[1:] != known[:-1] + 1
    column = _columns(px)
    run = stretch.copy()  # a new corner: a new stretch, or a new pixel column within one
    run[1:] |= column[1:] != column[:-1]
    starts = np.flatnonzero(run)
    xs = px[starts].tolist()
    upper = list(zip(xs, np.minimum.reduceat(tops, starts).tolist(), strict=True))
    lower = list(zip(xs, np.maximum.reduceat(bottoms, starts).tolist(), strict=True))
    cuts = [*np.flatnonzero(stretch[starts]).tolist(), len(starts)]
    return [upper[a:b] + lower[a:b][::-1] for a, b in pairwise(cuts)]


Span = tuple[str, float, float, float, float]  # (kind, left, top, right, bottom) in pixels


def mark_spans(marks: Sequence[Mark], scale: Scale, *, gap: float = 1.0) -> list[Span]:
    """``marks`` of each kind merged into boxes: a mark within ``gap`` pixels of the previous one of its kind
    (in the given order, oldest first) joins its box, so a long run of warn/fail points is one element."""
    kinds = [k for k, _, _ in marks]
    mx = np.asarray([x for _, x, _ in marks], dtype=float)
    my = np.asarray([y for _, _, y in marks], dtype=float)
    return _mark_spans(kinds, mx, my, scale, gap=gap)


def _mark_spans(kinds: Sequence[str], mx: FloatArray, my: FloatArray, scale: Scale, *, gap: float = 1.0) -> list[
    Span
]:  # fmt: skip
    """:func:`mark_spans` of a kind per mark and two arrays of values; ``gap`` is at least 0."""
    if len(kinds) == 0:
        return []
    px, py = scale.place_arrays(mx, my)
    known: dict[str, int] = {}
    code = np.fromiter((known.setdefault(kind, len(known)) for kind in kinds), dtype=np.intp, count=len(kinds))
    found: list[tuple[int, Span]] = []  # (index of the box's first mark, box)
    for kind, k in known.items():
        at = np.flatnonzero(code == k)
        x, y = px[at], py[at]
        # A mark opens a box when it lies more than gap right of every earlier one of its kind: the open box's
        # first mark lies beyond all before it, so their running maximum is the open box's right edge.
        new = np.ones(len(at), dtype=bool)
        new[1:] = x[1:] - np.maximum.accumulate(x)[:-1] > gap
        starts = np.flatnonzero(new)
        boxes = zip(
            at[starts].tolist(), x[starts].tolist(), np.minimum.reduceat(y, starts).tolist(),
            np.maximum.reduceat(x, starts).tolist(), np.maximum.reduceat(y, starts).tolist(), strict=True,
        )  # fmt: skip
        found += [(first, (str(kind), left, top, right, bottom)) for first, left, top, right, bottom in boxes]
    found.sort(key=lambda item: item[0])
    return [span for _, span in found]


def _span_svg(span: Span) -> str:
    kind, left, top, right, bottom = span
    if right - left < 1.0 and bottom - top < 1.0:  # one point (or several on one pixel): a circle
        return f'<circle class="mark mark-{escape(kind)}" cx="{left}" cy="{top}" r="3.5"/>'
    r = 3.5  # the box reaches as far as a circle around its corner points would
    return (
        f'<rect class="mark mark-{escape(kind)} mark-span" x="{left - r:.2f}" y="{top - r:.2f}" '
        f'width="{right - left + 2 * r:.2f}" height="{bottom - top + 2 * r:.2f}" rx="{r}"/>'
    )


@dataclass(frozen=True, slots=True)
class SeriesColumns:
    """A chart's data as arrays: the line's points, the marked points with their kinds, the band (NaN: a gap)."""

    xs: FloatArray
    ys: FloatArray
    mark_kinds: list[str]
    mark_xs: FloatArray
    mark_ys: FloatArray
    band_xs: FloatArray
    band_lows: FloatArray
    band_highs: FloatArray

    @classmethod
    def of(cls, points: Sequence[Point], marks: Sequence[Mark] = (), band: Sequence[Band] = ()) -> SeriesColumns:
        """The columns of :func:`line_chart`'s lists."""
        nan = np.nan
        return cls(
            np.asarray([x for x, _ in points], dtype=float), np.asarray([y for _, y in points], dtype=float),
            [k for k, _, _ in marks], np.asarray([x for _, x, _ in marks], dtype=float),
            np.asarray([y for _, _, y in marks], dtype=float), np.asarray([x for x, _, _ in band], dtype=float),
            np.asarray([nan if v is None else v for _, v, _ in band], dtype=float),
            np.asarray([nan if v is None else v for _, _, v in band], dtype=float),
        )  # fmt: skip

    @property
    def has_band(self) -> bool:
        """Whether any point has an expected range."""
        return bool(np.any(~np.isnan(self.band_lows)))


def line_chart(points: Sequence[Point], *, label: str, thresholds: Sequence[Threshold] = (),
               marks: Sequence[Mark] = (), band: Sequence[Band] = (), span: tuple[float, float] | None = None,
               width: int = 640, height: int = 180) -> Markup:  # fmt: skip
    """A line over ``points`` with dashed ``thresholds``, a shaded expected ``band`` and ``marks`` (circles, or
    boxes around runs of them); ``label`` is its accessible name."""
    return columns_chart(SeriesColumns.of(points, marks, band), label=label, thresholds=thresholds, span=span,
                         width=width, height=height)  # fmt: skip


def columns_chart(data: SeriesColumns, *, label: str, thresholds: Sequence[Threshold] = (),
                  span: tuple[float, float] | None = None, width: int = 640, height: int = 180) -> Markup:  # fmt: skip
    """:func:`line_chart` of data already in arrays (a week of minutes read as columns: no tuple per point)."""
    title = escape(label)
    edges = np.concatenate([data.band_lows[~np.isnan(data.band_lows)], data.band_highs[~np.isnan(data.band_highs)]])
    levels = np.concatenate([np.asarray([v for _, v in thresholds], dtype=float), edges])
    scale = _scale(data.xs, data.ys, levels, width=width, height=height, span=span)
    parts = [
        f'<svg class="chart chart-series" role="img" aria-label="{title}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{title}</title>"
    ]
    for area in _band_areas(data.band_xs, data.band_lows, data.band_highs, scale):
        corners = " ".join(f"{px},{py}" for px, py in area)
        parts.append(f'<polygon class="band" points="{corners}"/>')
    _, base = scale.at(scale.x0, max(scale.y0, 0.0))
    parts.append(f'<line class="axis" x1="0" y1="{base}" x2="{width}" y2="{base}"/>')
    for kind, value in thresholds:
        _, y = scale.at(scale.x0, value)
        parts.append(f'<line class="threshold threshold-{escape(kind)}" x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
    if len(data.xs):
        px, py = scale.place_arrays(data.xs, data.ys)
        kept = thin_index(px, py)
        path = " ".join(f"{x},{y}" for x, y in zip(px[kept].tolist(), py[kept].tolist(), strict=True))
        parts.append(f'<polyline class="series" points="{path}" fill="none"/>')
    parts += [_span_svg(one) for one in _mark_spans(data.mark_kinds, data.mark_xs, data.mark_ys, scale)]
    return Markup("".join(parts) + "</svg>")
