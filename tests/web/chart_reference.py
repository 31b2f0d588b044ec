"""The monitor chart as it was drawn point by point in Python before the numpy columns (web10b): the tests
check that the columns draw the very same SVG (same line corners, band outlines and mark boxes)."""

from __future__ import annotations

from collections.abc import Sequence

from andon.web.charts import Band, Mark, Point, Scale, Span, Threshold, _span_svg, scale_for


def thinned(placed: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most two pixels per pixel column run: its first lowest and first highest, in order."""
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


def band_areas(band: Sequence[Band], scale: Scale) -> list[list[tuple[float, float]]]:
    """One outline per unbroken stretch, one upper and one lower corner per pixel column."""
    areas: list[list[tuple[float, float]]] = []
    upper: list[tuple[float, float]] = []
    lower: list[tuple[float, float]] = []

    def close() -> None:
        if upper:
            areas.append(upper + lower[::-1])
        upper.clear()
        lower.clear()

    for x, low, high in band:
        if low is None or high is None:
            close()
            continue
        px, top = scale.at(x, high)
        _, bottom = scale.at(x, low)
        if upper and int(px) == int(upper[-1][0]):
            upper[-1] = (upper[-1][0], min(upper[-1][1], top))
            lower[-1] = (lower[-1][0], max(lower[-1][1], bottom))
        else:
            upper.append((px, top))
            lower.append((px, bottom))
    close()
    return areas


def mark_spans(marks: Sequence[Mark], scale: Scale, *, gap: float = 1.0) -> list[Span]:
    """Marks of a kind within ``gap`` pixels of the previous one of that kind's box join it."""
    spans: list[Span] = []
    open_: dict[str, int] = {}
    for kind, x, y in marks:
        px, py = scale.at(x, y)
        at = open_.get(kind)
        if at is not None and px - spans[at][3] <= gap:
            _, left, top, right, bottom = spans[at]
            spans[at] = (kind, left, min(top, py), max(right, px), max(bottom, py))
        else:
            open_[kind] = len(spans)
            spans.append((kind, px, py, px, py))
    return spans


def line_chart(points: Sequence[Point], *, label: str, thresholds: Sequence[Threshold] = (),
               marks: Sequence[Mark] = (), band: Sequence[Band] = (), span: tuple[float, float] | None = None,
               width: int = 640, height: int = 180) -> str:  # fmt: skip
    """The chart's SVG, point by point (the label is not escaped: the tests pass plain words)."""
    edges = [(kind, v) for x, low, high in band for kind, v in (("band", low), ("band", high)) if v is not None]
    scale = scale_for(points, [*thresholds, *edges], width=width, height=height, span=span)
    parts = [
        f'<svg class="chart chart-series" role="img" aria-label="{label}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>"
    ]
    for area in band_areas(band, scale):
        parts.append(f'<polygon class="band" points="{" ".join(f"{px},{py}" for px, py in area)}"/>')
    _, base = scale.at(scale.x0, max(scale.y0, 0.0))
    parts.append(f'<line class="axis" x1="0" y1="{base}" x2="{width}" y2="{base}"/>')
    for kind, value in thresholds:
        _, y = scale.at(scale.x0, value)
        parts.append(f'<line class="threshold threshold-{kind}" x1="0" y1="{y}" x2="{width}" y2="{y}"/>')
    if points:
        path = " ".join(f"{px},{py}" for px, py in thinned([scale.at(x, y) for x, y in points]))
        parts.append(f'<polyline class="series" points="{path}" fill="none"/>')
    parts += [_span_svg(one) for one in mark_spans(marks, scale)]
    return "".join(parts) + "</svg>"
