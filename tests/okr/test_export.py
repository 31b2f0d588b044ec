"""The board exported as XLSX and CSV, read back: values, colour scales, frozen header, filters, Korean headers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from tests.okr.report_support import andon, today_workspace

from andon.okr.board import Board, BoardRow
from andon.okr.export import (
    GREEN,
    RED,
    YELLOW,
    ExportError,
    csv_text,
    display_width,
    sheet_title,
    write_csv,
    write_xlsx,
)

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def row(**fields: object) -> BoardRow:
    """A board row with sensible defaults."""
    base: dict[str, object] = {
        "team": "menu-ai", "objective": "Menus go live without waiting", "key_result": "Automatic approval share",
        "description": "Share of menu photos approved without a human.\nMeasured over 7 days.",
        "history": ["2026-10-01 created", "2026-11-03 target 60 → 70"], "owner": "kim", "start": 40.0,
        "target": 70.0, "unit": "%", "actuals": [("2026-10", 45.0), ("2026-11", 52.5), ("2026-12", None)],
        "current": 52.5, "achievement": 0.4167, "health": "at_risk", "kr_id": "kr_auto",
    }  # fmt: skip
    base.update(fields)
    return BoardRow(**base)  # type: ignore[arg-type]


def quarter_board() -> Board:
    """Two key results of 2026Q4, one of them falling (lower is better)."""
    wait = row(key_result="Median review wait", unit="min", start=90.0, target=30.0, owner="박지민",
               actuals=[("2026-10", 80.0), ("2026-11", 50.0), ("2026-12", None)], current=50.0,
               achievement=2 / 3, kr_id="kr_wait", team="리뷰팀", history=[])  # fmt: skip
    return Board(period="2026Q4", generated_at=AT, rows=[row(), wait], teams=["menu-ai", "리뷰팀"])


def year_board() -> Board:
    """A yearly board: one actual per quarter."""
    actuals: list[tuple[str, float | None]] = [("Q1", 10.0), ("Q2", 20.0), ("Q3", 35.0), ("Q4", None)]
    kr = row(key_result="Retention", start=0.0, target=50.0, actuals=actuals, achievement=0.7)
    return Board(period="2026", generated_at=AT, teams=["menu-ai"], rows=[kr])


def _headers(ws: Worksheet) -> list[object]:
    return [c.value for c in ws[1]]


def test_values_and_columns_read_back(tmp_path: Path) -> None:
    path = write_xlsx([quarter_board()], tmp_path / "board.xlsx", language="en")
    ws = load_workbook(path)["2026Q4"]
    assert _headers(ws) == [
        "Department / team", "Objective", "Key result", "Key result description", "Key result history", "Owner",
        "Start value", "Target value", "Actual 2026-10", "Actual 2026-11", "Actual 2026-12", "Achievement",
    ]  # fmt: skip
    first = [c.value for c in ws[2]]
    assert first[:6] == ["menu-ai", "Menus go live without waiting", "Automatic approval share",
                         "Share of menu photos approved without a human.\nMeasured over 7 days.",
                         "2026-10-01 created\n2026-11-03 target 60 → 70", "kim"]  # fmt: skip
    assert first[6:] == [40, 70, 45, 52.5, None, pytest.approx(0.4167)]
    second = [c.value for c in ws[3]]
    assert second[0] == "리뷰팀" and second[5] == "박지민" and second[4] is None
    assert ws.max_row == 3
    # Numbers stay numbers; the unit is only the display format.
    assert ws["I2"].number_format == 'General"%"' and ws["G3"].number_format == 'General" min"'
    assert ws["L2"].number_format == "0%"
    assert ws["D2"].alignment.wrap_text


def test_achievement_has_a_red_yellow_green_scale_from_0_to_1(tmp_path: Path) -> None:
    ws = load_workbook(write_xlsx([quarter_board()], tmp_path / "b.xlsx"))["2026Q4"]
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    (rule,) = ranges["L2:L3"]
    assert rule.type == "colorScale"
    assert [(v.type, float(v.val)) for v in rule.colorScale.cfvo] == [("num", 0.0), ("num", 0.5), ("num", 1.0)]
    assert [c.rgb for c in rule.colorScale.color] == [f"FF{RED}", f"FF{YELLOW}", f"FF{GREEN}"]  # opaque ARGB


def test_each_rows_actuals_are_shaded_from_its_start_to_its_target(tmp_path: Path) -> None:
    ws = load_workbook(write_xlsx([quarter_board()], tmp_path / "b.xlsx"))["2026Q4"]
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    (rising,) = ranges["I2:K2"]
    assert rising.type == "colorScale"
    assert [(v.type, v.val) for v in rising.colorScale.cfvo] == [
        ("num", "$G$2"), ("formula", "($G$2+$H$2)/2"), ("num", "$H$2"),
    ]  # fmt: skip
    assert [c.rgb[-6:] for c in rising.colorScale.color] == [RED, YELLOW, GREEN]
    # Falling: the low end is the target and it is the green one.
    (falling,) = ranges["I3:K3"]
    assert [v.val for v in falling.colorScale.cfvo] == ["$H$3", "($H$3+$G$3)/2", "$G$3"]
    assert [c.rgb[-6:] for c in falling.colorScale.color] == [GREEN, YELLOW, RED]
    assert ws["G3"].value == 90 and ws["H3"].value == 30


def test_a_ranged_key_result_gets_no_start_to_target_shading(tmp_path: Path) -> None:
    band = row(key_result="p95 latency within 1-2 s", start=3.0, target=1.5, direction="range")
    ws = load_workbook(write_xlsx([Board("2026Q4", AT, [row(), band], [])], tmp_path / "b.xlsx"))["2026Q4"]
    assert {str(cf.sqref) for cf in ws.conditional_formatting} == {"L2:L3", "I2:K2"}


def test_header_is_frozen_filtered_and_columns_are_sized(tmp_path: Path) -> None:
    ws = load_workbook(write_xlsx([quarter_board()], tmp_path / "b.xlsx"))["2026Q4"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:L3"
    assert ws["A1"].font.b
    widths = {k: ws.column_dimensions[k].width for k in "ABCDEFGHL"}
    assert all(8 <= w <= 60 for w in widths.values())
    # The description wraps at a readable width; the short owner column is narrower than the objective.
    assert widths["D"] <= 48 and widths["F"] < widths["B"]


def test_one_sheet_per_period(tmp_path: Path) -> None:
    wb = load_workbook(write_xlsx([quarter_board(), year_board()], tmp_path / "b.xlsx"))
    assert wb.sheetnames == ["2026Q4", "2026"]
    year = wb["2026"]
    assert _headers(year)[8:12] == ["Actual Q1", "Actual Q2", "Actual Q3", "Actual Q4"]
    assert [c.value for c in year[2]][8:] == [10, 20, 35, None, pytest.approx(0.7)]
    assert year.auto_filter.ref == "A1:M2"


def test_korean_headers(tmp_path: Path) -> None:
    ws = load_workbook(write_xlsx([quarter_board()], tmp_path / "b.xlsx", language="ko"))["2026Q4"]
    headers = _headers(ws)
    assert headers[:3] == ["부서/팀", "목표(Objective)", "핵심 결과(KR)"]
    assert headers[8] == "2026-10 실적" and headers[-1] == "목표 대비 달성률"


def test_a_title_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    board = Board("2026Q4", AT, [row(key_result='=HYPERLINK("http://x")', objective="+1")], ["menu-ai"])
    ws = load_workbook(write_xlsx([board], tmp_path / "b.xlsx"))["2026Q4"]
    assert ws["C2"].data_type == "s" and ws["C2"].value == '=HYPERLINK("http://x")'
    assert ws["B2"].data_type == "s"
    assert "'=HYPERLINK" in csv_text([board])


def test_an_empty_board_still_has_its_header(tmp_path: Path) -> None:
    ws = load_workbook(write_xlsx([Board("2026Q4", AT, [], [])], tmp_path / "b.xlsx"))["2026Q4"]
    assert ws.max_row == 1 and ws["A1"].value == "Department / team"


def test_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError) as caught:
        write_xlsx([quarter_board()], tmp_path / "missing" / "b.xlsx")
    assert "missing" in caught.value.message and caught.value.hint


def test_csv_has_the_same_columns_in_utf8_with_bom(tmp_path: Path) -> None:
    path = write_csv([quarter_board()], tmp_path / "board.csv", language="ko")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "부서/팀" and len(rows[0]) == 12
    assert rows[2][0] == "리뷰팀" and rows[2][5] == "박지민"
    assert rows[1][6:] == ["40", "70", "45", "52.5", "", "0.4167"]
    assert rows[1][3] == "Share of menu photos approved without a human.\nMeasured over 7 days."


def test_csv_of_several_periods_names_the_period() -> None:
    rows = list(csv.reader(io.StringIO(csv_text([quarter_board(), year_board()]))))
    months = ["Actual 2026-10", "Actual 2026-11", "Actual 2026-12"]
    quarters = ["Actual Q1", "Actual Q2", "Actual Q3", "Actual Q4"]
    assert rows[0][0] == "Period" and rows[0][9:] == [*months, *quarters, "Achievement"]
    assert [r[0] for r in rows[1:]] == ["2026Q4", "2026Q4", "2026"]
    assert rows[3][12:16] == ["10", "20", "35", ""]


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_csv_numbers_read_back_exactly(value: float) -> None:
    board = Board("2026Q4", AT, [row(start=value, actuals=[])], ["menu-ai"])
    rows = list(csv.reader(io.StringIO(csv_text([board]))))
    assert float(rows[1][6]) == value


@given(st.text(max_size=60))
def test_sheet_titles_are_always_valid(period: str) -> None:
    title = sheet_title(period)
    assert 1 <= len(title) <= 31 and not any(c in title for c in "[]:*?/\\")


def test_hangul_counts_double_width() -> None:
    assert display_width("리뷰팀") == 6 and display_width("menu") == 4


def test_andon_okr_export_writes_both_files(tmp_path: Path) -> None:
    ws, _ = today_workspace(tmp_path / "ws")
    ws.close()
    (tmp_path / "out").mkdir()
    done = andon("okr", "export", "--xlsx", "../out/board.xlsx", "--csv", "../out/board.csv", cwd=tmp_path / "ws",
                 lang="ko")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "board.xlsx" in done.stdout and "board.csv" in done.stdout
    wb = load_workbook(tmp_path / "out" / "board.xlsx")
    (sheet,) = wb.worksheets
    assert sheet["A1"].value == "부서/팀" and sheet.max_row == 4  # header + three key results
    assert sorted(c.value for c in sheet["C"][1:]) == sorted(
        ["Automatic approval share", "Median review wait", "Reviewer guide published"]
    )
    assert (tmp_path / "out" / "board.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_andon_okr_export_needs_a_file_and_a_known_period(tmp_path: Path) -> None:
    ws, _ = today_workspace(tmp_path / "ws")
    ws.close()
    missing = andon("okr", "export", cwd=tmp_path / "ws")
    assert missing.returncode == 2 and "--xlsx" in missing.stderr and "Traceback" not in missing.stderr
    unknown = andon("okr", "export", "--xlsx", "b.xlsx", "--period", "1999Q1", cwd=tmp_path / "ws")
    assert unknown.returncode != 0 and "1999Q1" in unknown.stderr and "Traceback" not in unknown.stderr
