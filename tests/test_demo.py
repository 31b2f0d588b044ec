"""The demo: its workspace is valid and complete, and `andon demo` runs end to end on the embedded model."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.demo.workspace import FEATURE, create_workspace
from andon.evals.dataset import load_dataset
from andon.versions.canonical import build_version


def test_demo_workspace_has_three_versions_and_enough_labelled_cases(tmp_path: Path) -> None:
    create_workspace(tmp_path, "ko", fresh=False)
    loaded = load_config(tmp_path / "andon.yaml")
    assert loaded.config.language == "ko"
    feature = loaded.config.features[FEATURE]
    versions = [build_version(FEATURE, n, s, loaded.config) for n, s in feature.versions.items()]
    assert [v.name for v in versions] == ["v1-naive", "v2-structured", "v3-hybrid"]
    assert [s.name for s in versions[2].steps] == ["precheck", "review"]
    assert versions[2].steps[0].provider == "python" and versions[1].steps[0].output_schema is not None
    dataset = load_dataset(Path(feature.dataset or ""), tmp_path)
    assert len(dataset.cases) >= 90
    labels = collections.Counter(c.label for c in dataset.cases)
    assert set(labels) == {"approve", "reject"} and min(labels.values()) >= 30
    assert all(c.reason for c in dataset.cases) and all(Path(c.vars["photo"]).is_file() for c in dataset.cases)
    # Creating it again keeps the data and any store; --fresh starts over.
    (tmp_path / ".andon" / "marker").write_text("x")
    create_workspace(tmp_path, "en", fresh=False)
    assert (tmp_path / ".andon" / "marker").exists()
    create_workspace(tmp_path, "en", fresh=True)
    assert not (tmp_path / ".andon" / "marker").exists()


@pytest.mark.local_model
def test_andon_demo_runs_end_to_end_offline(tmp_path: Path) -> None:
    env = {**os.environ, "ANDON_LANG": "en"}
    result = subprocess.run(
        [sys.executable, "-m", "andon", "demo", "--path", str(tmp_path / "demo"), "--limit", "6"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert "v3-hybrid" in html and "m001" in html
    assert "andon cite out_" in result.stdout and "Traceback" not in result.stderr
    assert "McNemar" in result.stdout or "McNemar" in html
    # The demo's objective shows the evaluated accuracy of the live version on the board.
    board = subprocess.run(
        [sys.executable, "-m", "andon", "okr", "board", "--json"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path / "demo",
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    accuracy = next(r for r in json.loads(board.stdout)["rows"] if "accuracy" in r["key_result"])
    assert accuracy["current"] is not None and 0.0 <= accuracy["current"] <= 1.0
