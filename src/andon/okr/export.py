"""The board as a spreadsheet (one sheet per period) or CSV: the ten columns of the dashboard people rebuilt by hand.

Columns: team, objective, key result, its description, its history, owner, start, target, one actual per
quarter (or month) shaded by how far it got from start to target, and achievement against target. The shading
is Excel conditional formatting (colour scales), so it follows the numbers when someone edits them.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from andon.errors import AndonError
from andon.messages import t
from andon.okr.board import Board, BoardRow, build_board
from andon.store import Store

# Excel's own red-yellow-green scale: readers know it from every other sheet.
RED, YELLOW, GREEN = "F8696B", "FFEB84", "63BE7B"
HEADER_FILL = "DDE3EA"
MIN_WIDTH, MAX_WIDTH, WRAP_WIDTH = 8, 60, 48
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # text a spreadsheet would run as a formula
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


class ExportError(AndonError):
    """The file could not be written (a folder missing, no permission, the file open elsewhere)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the export: its header, and for an actual, the label of its quarter or month."""

    key: str
    header: str
    actual: str | None = None


def boards(
    store: Store, periods: Sequence[str] = (), *, team: str | None = None, now: datetime | None = None
) -> list[Board]:
    """The board of each period named (default: every period in the store, earliest first), for one sheet each."""
    wanted = list(dict.fromkeys(periods)) or [p.id for p in store.periods()]
    if not wanted:
        raise ExportError(t("okr_report.export.no_periods"), hint=t("okr_report.export.no_periods_hint"))
    return [build_board(store, period, team=team, now=now) for period in wanted]


def columns(labels: Sequence[str], language: str | None = None) -> list[Column]:
    """The ten columns in order, the actuals expanded to one per label (``Q1``…``Q4`` or months)."""

    def col(key: str) -> Column:
        return Column(key, t(f"okr_report.column.{key}", language=language))

    head = [col(k) for k in ("team", "objective", "key_result", "description", "history", "owner", "start", "target")]
    actuals = [Column("actual", t("okr_report.column.actual", language=language, label=lb), lb) for lb in labels]
    return [*head, *actuals, col("achievement")]


def actual_labels(boards: Sequence[Board]) -> list[str]:
    """Every actual's label in the order the boards give them (the union, for several periods in one CSV)."""
    labels: list[str] = []
    for board in boards:
        for row in board.rows:
            labels += [label for label, _ in row.actuals if label not in labels]
    return labels


def cell_values(row: BoardRow, cols: Sequence[Column]) -> list[Any]:
    """The row's value under each column: text, a number, or None for an empty cell."""
    actuals = dict(row.actuals)
    by_key: dict[str, Any] = {
        "team": row.team,
        "objective": row.objective,
        "key_result": row.key_result,
        "description": row.description,
        "history": "\n".join(row.history),
        "owner": row.owner,
        "start": row.start,
        "target": row.target,
        "achievement": row.achievement,
    }
    return [actuals.get(c.actual) if c.actual is not None else by_key[c.key] for c in cols]


# XLSX -------------------------------------------------------------------------------------------------------


def sheet_title(period: str) -> str:
    """A valid, at most 31-character sheet name for the period."""
    return (period.translate(_SHEET_FORBIDDEN).strip("'") or "board")[:31]


def unit_format(unit: str) -> str:
    """A number format showing the unit after the value (``General" %"``); the value stays a number."""
    clean = unit.replace('"', "").replace("\\", "").strip()
    if not clean:
        return "General"
    return f'General"{clean}"' if clean == "%" else f'General" {clean}"'


def write_xlsx(boards: Sequence[Board], path: Path, *, language: str | None = None) -> Path:
    """Write one sheet per board (period) to ``path`` and return it."""
    workbook = build_workbook(boards, language=language)
    try:
        workbook.save(path)
    except OSError as exc:
        raise ExportError(
            t("okr_report.export.cannot_write", path=path, error=exc.strerror or exc),
            hint=t("okr_report.export.cannot_write_hint"),
        ) from None
    return path


def build_workbook(boards: Sequence[Board], *, language: str | None = None) -> Workbook:
    """The workbook: a sheet per board with header, filters, frozen header row and colour scales."""
    workbook = Workbook()
    default = workbook.active
    used: set[str] = set()
    for board in boards:
        title = sheet_title(board.period)
        n = 2
        while title in used:  # two boards of one period (per team) still get a sheet each
            title = f"{sheet_title(board.period)[:28]}-{n}"
            n += 1
        used.add(title)
        _fill_sheet(workbook.create_sheet(title), board, language)
    if boards and default is not None:
        workbook.remove(default)
    elif default is not None:
        default.title = t("okr_report.export.empty_sheet", language=language)
    return workbook


def _fill_sheet(ws: Worksheet, board: Board, language: str | None) -> None:
    cols = columns(actual_labels([board]), language)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor=f"FF{HEADER_FILL}")
    for index, column in enumerate(cols, start=1):
        head = ws.cell(row=1, column=index, value=column.header)
        head.font, head.fill = header_font, header_fill
        head.alignment = Alignment(vertical="center", wrap_text=True)
    top = Alignment(vertical="top")
    wrapped = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(board.rows, start=2):
        number_format = unit_format(row.unit)
        for index, (column, value) in enumerate(zip(cols, cell_values(row, cols), strict=True), start=1):
            cell = ws.cell(row=r, column=index)
            _set(cell, value)
            cell.alignment = wrapped if column.key in ("description", "history", "objective") else top
            if column.key == "achievement":
                cell.number_format = "0%"
            elif column.key in ("start", "target", "actual"):
                cell.number_format = number_format
    last_row = max(len(board.rows) + 1, 2)
    last_col = get_column_letter(len(cols))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last_col}{last_row}"
    _colour_scales(ws, board, cols)
    _widths(ws, cols, board)
    ws.sheet_view.zoomScale = 100


def _set(cell: Cell | MergedCell, value: Any) -> None:
    """Text stays text: a title starting with ``=`` is never run as a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"


def _colour_scales(ws: Worksheet, board: Board, cols: Sequence[Column]) -> None:
    index = {c.key: i for i, c in enumerate(cols, start=1)}
    achievement = get_column_letter(index["achievement"])
    if board.rows:
        scale = _scale((0, RED), ("num", 0.5, YELLOW), (1, GREEN))
        ws.conditional_formatting.add(f"{achievement}2:{achievement}{len(board.rows) + 1}", scale)
    actual_cols = [i for i, c in enumerate(cols, start=1) if c.actual is not None]
    if not actual_cols:
        return
    first, last = get_column_letter(actual_cols[0]), get_column_letter(actual_cols[-1])
    start, target = get_column_letter(index["start"]), get_column_letter(index["target"])
    for r, row in enumerate(board.rows, start=2):
        if row.direction == "range":
            continue  # "stay within low..high" has no line from start to target to shade along
        # Each row has its own scale, start → target, read from its own cells (absolute references: Excel
        # refuses relative ones in a colour scale), so a falling key result is green when it is low.
        begin, end = (f"${start}${r}", RED), (f"${target}${r}", GREEN)
        low, high = (begin, end) if row.target >= row.start else (end, begin)
        mid = ("formula", f"({low[0]}+{high[0]})/2", YELLOW)
        ws.conditional_formatting.add(f"{first}{r}:{last}{r}", _scale(low, mid, high))


def _scale(low: tuple[float | str, str], mid: tuple[str, float | str, str], high: tuple[float | str, str]) -> Any:
    """A three-colour scale: numbers (or absolute cell references) at both ends, the middle as given."""
    # Opaque ARGB, as Excel writes them (openpyxl's default alpha 00 is fully transparent to some readers).
    return ColorScaleRule(  # type: ignore[no-untyped-call]  # openpyxl's stubs leave it untyped
        start_type="num", start_value=low[0], start_color=f"FF{low[1]}",
        mid_type=mid[0], mid_value=mid[1], mid_color=f"FF{mid[2]}",
        end_type="num", end_value=high[0], end_color=f"FF{high[1]}",
    )  # fmt: skip


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: Hangul and other wide characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _widths(ws: Worksheet, cols: Sequence[Column], board: Board) -> None:
    for index, column in enumerate(cols, start=1):
        texts = [column.header]
        for row in board.rows:
            value = cell_values(row, [column])[0]
            texts += _shown(value).splitlines() or [""]
        widest = max(display_width(text) for text in texts) + 2
        cap = WRAP_WIDTH if column.key in ("description", "history", "objective") else MAX_WIDTH
        ws.column_dimensions[get_column_letter(index)].width = max(MIN_WIDTH, min(cap, widest))


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# CSV --------------------------------------------------------------------------------------------------------


def csv_text(boards: Sequence[Board], *, language: str | None = None) -> str:
    """The boards as CSV: the same columns (a period column first when there are several periods)."""
    cols = columns(actual_labels(boards), language)
    several = len({b.period for b in boards}) > 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    period_header = [t("okr_report.column.period", language=language)] if several else []
    writer.writerow([*period_header, *(c.header for c in cols)])
    for board in boards:
        for row in board.rows:
            values = [_csv_cell(v) for v in cell_values(row, cols)]
            writer.writerow([*([board.period] if several else []), *values])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # Whole numbers without ".0"; others exactly (repr round-trips), so a re-import reads what was exported.
        return str(int(value)) if math.isfinite(value) and value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    # A leading apostrophe keeps Excel from running a title that starts like a formula (CSV injection).
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def write_csv(boards: Sequence[Board], path: Path, *, language: str | None = None) -> Path:
    """Write the CSV in UTF-8 with a byte-order mark, so Excel opens Korean text right."""
    try:
        path.write_text(csv_text(boards, language=language), encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ExportError(
            t("okr_report.export.cannot_write", path=path, error=exc.strerror or exc),
            hint=t("okr_report.export.cannot_write_hint"),
        ) from None
    return path
