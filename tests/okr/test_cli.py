"""`andon okr` as a user meets it: real subprocesses, exit codes, messages without tracebacks, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.okr.okr_support import write_workspace


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang, "COLUMNS": "140", "USER": "jiwoo"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = write_workspace(tmp_path / "ws")
    applied = andon("okr", "apply", "okr.yaml", cwd=root)
    assert applied.returncode == 0, applied.stderr
    return root


def test_dry_run_then_apply_then_nothing_to_do(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    dry = andon("okr", "apply", "okr.yaml", "--dry-run", cwd=root)
    assert dry.returncode == 0, dry.stderr
    assert "+ objective menu-auto" in dry.stdout and "7 to add" in dry.stdout and "dry run" in dry.stdout
    assert json.loads(andon("okr", "list", "--json", cwd=root).stdout) == []
    assert andon("okr", "apply", "okr.yaml", cwd=root).returncode == 0
    again = andon("okr", "apply", "okr.yaml", cwd=root)
    assert again.returncode == 0 and "nothing to change" in again.stdout


def test_a_bad_file_names_its_line_and_exits_2(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    path = root / "okr.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("target: 70", "target: 40"), encoding="utf-8")
    failed = andon("okr", "apply", "okr.yaml", cwd=root)
    assert failed.returncode == 2
    assert "okr.yaml:16:" in failed.stderr and "start equals target" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_checkin_board_and_show(ws: Path) -> None:
    done = andon("okr", "checkin", "menu-auto.kr1", "55", "-c", "7", "-m", "rules v3 live", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "50% of the way" in done.stdout  # 40 → 70, at 55
    board = andon("okr", "board", "--period", "2026Q4", cwd=ws)
    assert board.returncode == 0, board.stderr
    assert "Automatic approvals" in board.stdout and "50%" in board.stdout and "no check-in" in board.stdout
    data = json.loads(andon("okr", "board", "--period", "2026Q4", "--json", cwd=ws).stdout)
    row = next(r for r in data["rows"] if r["key_result"] == "Automatic approvals")
    assert (row["current"], row["achievement"], row["owner"]) == (55.0, 0.5, "minsu")
    assert [label for label, _ in row["actuals"]] == ["Oct", "Nov", "Dec"]
    shown = json.loads(andon("okr", "show", "menu-auto.kr1", "--json", cwd=ws).stdout)
    assert shown["checkins"][0]["comment"] == "rules v3 live" and shown["history"][0]["kind"] == "created"
    korean = andon("okr", "board", "--period", "2026Q4", cwd=ws, lang="ko")
    assert "달성률" in korean.stdout and "체크인 없음" in korean.stdout


def test_csv_upload_names_bad_lines_and_stores_nothing(ws: Path) -> None:
    csv = ws / "checkins.csv"
    csv.write_text(
        "key_result,value,confidence,comment\n"
        "menu-auto.kr1,50,7,fine\n"
        "menu-wait,lots,,\n"
        "no-such-kr,3,,\n"
        "menu-wait,12,11,\n",
        encoding="utf-8",
    )
    failed = andon("okr", "checkin", "--csv", "checkins.csv", cwd=ws)
    assert failed.returncode == 2
    for line, says in ((3, "'lots' is not a finite number"), (4, "no key result 'no-such-kr'"), (5, "1 to 10")):
        assert f"checkins.csv:{line}: " in failed.stderr and says in failed.stderr, failed.stderr
    assert "checkins.csv:2:" not in failed.stderr
    shown = json.loads(andon("okr", "show", "menu-auto.kr1", "--json", cwd=ws).stdout)
    assert shown["checkins"] == []  # all or nothing
    csv.write_text("key_result,value,author,at\nmenu-auto.kr1,50,minsu,2026-11-02\nmenu-wait,12,,\n", encoding="utf-8")
    stored = andon("okr", "checkin", "--csv", "checkins.csv", "--json", cwd=ws)
    assert stored.returncode == 0, stored.stderr
    written = json.loads(stored.stdout)["written"]
    assert [(c["author"], c["source"]) for c in written] == [("minsu", "csv"), ("jiwoo", "csv")]
    assert written[0]["created_at"].startswith("2026-11-02T00:00:00")
    missing = andon("okr", "checkin", "--csv", "nope.csv", cwd=ws)
    assert missing.returncode == 2 and "no CSV file" in missing.stderr


def test_a_closed_period_refuses_checkins_with_a_clear_message(ws: Path) -> None:
    closed = andon("okr", "period", "close", "2026Q4", "--at", "2026-12-31T18:00:00+09:00", cwd=ws)
    assert closed.returncode == 0, closed.stderr
    refused = andon("okr", "checkin", "menu-wait", "10", cwd=ws)
    assert refused.returncode == 2
    assert "period 2026Q4 is closed (since 2026-12-31T09:00+00:00); its values are frozen" in refused.stderr
    assert "hint:" in refused.stderr and "Traceback" not in refused.stderr
    listed = json.loads(andon("okr", "period", "list", "--json", cwd=ws).stdout)
    assert listed[0]["closed_at"].startswith("2026-12-31T09:00")


def test_create_and_add_kr_check_team_owner_and_target(ws: Path) -> None:
    made = andon("okr", "create", "Faster reviews", "--team", "menu-ai", "--period", "2027Q1", "--owner", "hana",
                 "--json", cwd=ws)  # fmt: skip
    assert made.returncode == 0, made.stderr
    obj = json.loads(made.stdout)
    kr = andon("okr", "add-kr", obj["id"], "Queue under 1h", "--start", "4", "--target", "1", "--unit", "h", cwd=ws)
    assert kr.returncode == 0, kr.stderr
    same = andon("okr", "add-kr", obj["id"], "Flat", "--start", "4", "--target", "4", cwd=ws)
    assert same.returncode == 2 and "start equals target" in same.stderr
    team = andon("okr", "create", "X", "--team", "ghosts", "--period", "2027Q1", "--owner", "hana", cwd=ws)
    assert team.returncode == 2 and "unknown team 'ghosts'" in team.stderr
    owner = andon("okr", "create", "X", "--team", "menu-ai", "--period", "2027Q1", "--owner", "zed", cwd=ws)
    assert owner.returncode == 2 and "unknown owner 'zed'" in owner.stderr
