"""The demo's objective: its definitions apply on a fresh demo workspace, idempotently, bound to menu-review."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from andon.demo.okr import ACCURACY_KR, seed_objectives
from andon.demo.workspace import FEATURE, create_workspace
from andon.okr.board import build_board
from andon.workspace import Workspace

NOW = datetime(2026, 11, 2, tzinfo=UTC)


def test_the_demo_objective_is_bound_to_the_features_numbers(tmp_path: Path) -> None:
    create_workspace(tmp_path, "en", fresh=False)
    with Workspace.open(tmp_path) as ws:
        assert seed_objectives(ws, None, now=NOW) == "2026Q4"
        assert seed_objectives(ws, None, now=NOW) == "2026Q4"  # a second demo run changes nothing
        krs = ws.store.key_results(period="2026Q4")
        assert len(krs) == 3 and all(kr.binding and kr.binding["feature"] == FEATURE for kr in krs)
        assert FEATURE in ws.config.features
        board = build_board(ws.store, "2026Q4", now=NOW)
        assert board.rows[0].key_result == ws.store.key_result(ACCURACY_KR).title
        assert board.teams == ["Menu AI"]
    assert "2026Q4" in (tmp_path / "okr.yaml").read_text(encoding="utf-8")
