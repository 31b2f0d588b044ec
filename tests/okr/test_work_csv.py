"""The CSV importer: columns by header name, every bad row named by its line (and nothing imported then), an
unchanged file not read twice, re-imports that update instead of duplicating; and a round-trip property."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.problems import InvalidConfig
from andon.errors import ConfigError
from andon.okr.work import build_importer, import_work
from andon.okr.work.csvfile import parse_rows
from andon.okr.work.http import retry_after
from andon.store import Store

GOOD = """\
id,Title,status,done,points,labels,url,assignee,updated_at,kind
T-1,Photo checks,Done,,3,KR-2026Q4-1; ops,https://tracker.example/T-1,jiwoo,2026-11-30T09:15:00+09:00,story
T-2,"Wait times, per shift",In progress,no,1.5,,,,,
T-3,Rubric for reviewers,open,yes,,docs,,minsu,2026-11-29,
"""


def test_rows_become_work_items(tmp_path: Path) -> None:
    one, two, three = parse_rows(GOOD, tmp_path / "work.csv")
    assert (one.external_id, one.title, one.status, one.done, one.points) == ("T-1", "Photo checks", "Done", True, 3.0)
    assert one.labels == ("KR-2026Q4-1", "ops") and one.url == "https://tracker.example/T-1" and one.kind == "story"
    assert one.updated_at == datetime(2026, 11, 30, 0, 15, tzinfo=UTC)
    assert (two.title, two.done, two.points, two.labels, two.kind, two.assignee) == (
        "Wait times, per shift",
        False,
        1.5,
        (),
        "task",
        None,
    )
    assert three.done and three.updated_at == datetime(2026, 11, 29, tzinfo=UTC)  # an explicit `done` wins over status
    assert {one.source, two.source, three.source} == {"csv"}


def test_every_bad_row_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "work.csv"
    text = (
        "id,title,points,done,updated_at\n"
        "T-1,fine,1,yes,\n"
        "T-2,,2,no,\n"  # line 3: no title
        '"T-3","a title\nover two lines",five,no,\n'  # lines 4-5: points
        "T-4,ok,-1,maybe,\n"  # line 6: negative points and an unknown done
        "T-1,again,1,no,yesterday\n"  # line 7: repeated id and a bad time
    )
    with pytest.raises(InvalidConfig) as bad:
        parse_rows(text, path)
    found = [(p.where, p.field) for p in bad.value.problems]
    assert found == [
        (f"{path}:3", "title"), (f"{path}:4", "points"), (f"{path}:6", "points"), (f"{path}:6", "done"),
        (f"{path}:7", "updated_at"),
    ]  # fmt: skip
    assert "five" in bad.value.problems[1].message and "yes/no" in (bad.value.problems[3].hint or "")


def test_a_repeated_id_names_the_first_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig) as repeated:
        parse_rows("id,title\nA,one\nB,two\nA,three\n", tmp_path / "w.csv")
    (problem,) = repeated.value.problems
    assert problem.where.endswith("w.csv:4") and "line 2" in problem.message


def test_header_problems_come_first_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig) as typo:
        parse_rows("id,titel,pionts\nA,b,1\n", tmp_path / "w.csv")
    messages = [(p.where.rsplit(":", 1)[1], p.message, p.hint) for p in typo.value.problems]
    assert messages[0] == ("1", "unknown column 'titel'", "did you mean 'title'?")
    assert messages[1][2] == "did you mean 'points'?"
    assert messages[2][1] == "the required column 'title' is missing"
    with pytest.raises(ConfigError, match="no header"):
        parse_rows("", tmp_path / "w.csv")
    with pytest.raises(InvalidConfig, match="cells"):
        parse_rows("id,title\nA,b,c\n", tmp_path / "w.csv")


async def test_a_bad_file_imports_nothing_and_a_fixed_one_updates_in_place(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "work.csv"
    path.write_text(GOOD, encoding="utf-8")
    importer = build_importer({"type": "csv", "path": str(path)})
    first = await import_work(store, importer)
    assert (first.inserted, first.updated) == (3, 0)

    unchanged = await import_work(store, importer)
    assert unchanged.unchanged and (unchanged.inserted, unchanged.updated) == (0, 0)

    path.write_text(
        GOOD.replace("T-3,Rubric for reviewers,open,yes", "T-3,Rubric for reviewers,open,maybe"), encoding="utf-8"
    )
    with pytest.raises(InvalidConfig):
        await import_work(store, importer)
    assert len(store.work_items("csv")) == 3 and store.work_item("csv", "T-3").done  # type: ignore[union-attr]

    path.write_text(GOOD.replace("In progress,no", "Done,yes") + "T-4,New row,,,,,,,,\n", encoding="utf-8")
    again = await import_work(store, importer)
    assert (again.inserted, again.updated) == (1, 1) and len(store.work_items("csv")) == 4
    assert store.work_item("csv", "T-2").done  # type: ignore[union-attr]


async def test_an_unreadable_or_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        await build_importer({"type": "csv", "path": str(tmp_path / "missing.csv")}).fetch(None)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,title\nA,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8"):
        await build_importer({"type": "csv", "path": str(latin)}).fetch(None)


cells = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).map(str.strip).filter(bool)
rows = st.lists(
    st.tuples(cells, cells, st.none() | st.floats(0, 1e6, allow_nan=False), st.booleans(),
              st.lists(st.text("abcKR-2026Q4", min_size=1, max_size=8), max_size=3)),
    max_size=8, unique_by=lambda r: r[0],
)  # fmt: skip


@given(rows)
def test_written_rows_read_back_as_they_were(data: list[tuple[str, str, float | None, bool, list[str]]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "title", "points", "done", "labels"])
    for external, title, points, done, labels in data:
        writer.writerow(
            [external, title, "" if points is None else repr(points), "yes" if done else "no", ";".join(labels)]
        )
    read = parse_rows(out.getvalue(), Path("p.csv"))
    assert [(i.external_id, i.title, i.points, i.done, i.labels) for i in read] == [
        (e, t, p, d, tuple(x.strip() for x in labels if x.strip())) for e, t, p, d, labels in data
    ]


@given(st.integers(0, 10**6))
def test_retry_after_reads_seconds_and_http_dates(seconds: int) -> None:
    from email.utils import format_datetime

    import httpx

    assert retry_after(httpx.Response(429, headers={"Retry-After": str(seconds)})) == float(seconds)
    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + seconds, UTC), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": date}), now=now) == pytest.approx(
        seconds
    )  # whole seconds
    assert (
        retry_after(httpx.Response(429)) is None
        and retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    )
