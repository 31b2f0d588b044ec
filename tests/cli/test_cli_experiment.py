"""`andon experiment start|status|stop` on the command line: JSON and text, errors without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.rollouts import promote_stable, write_rollout_workspace

ARMS = [{"version": "v1", "weight": 50}, {"version": "v2", "weight": 50}]


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang, "COLUMNS": "200"}
    env.pop("ANDON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_rollout_workspace(tmp_path, [{"weight": 10, "hold": "10m"}])
    path = tmp_path / "andon.yaml"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["features"]["menu"]["experiments"] = {"tone": {"arms": ARMS, "metric": "conversion"}}
    path.write_text(json.dumps(config), encoding="utf-8")
    promote_stable(tmp_path, None)
    return tmp_path


def test_an_experiment_from_start_to_stop_on_the_command_line(root: Path) -> None:
    assert "has had no experiment" in andon("experiment", "status", "menu", cwd=root).stdout
    started = andon("experiment", "start", "menu", "tone", "--json", cwd=root)
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    assert record["status"] == "running" and [a["version_name"] for a in record["arms"]] == ["v1", "v2"]
    again = andon("experiment", "start", "menu", "tone", cwd=root)
    assert again.returncode != 0 and record["id"] in again.stderr and "Traceback" not in again.stderr
    status = andon("experiment", "status", "menu", cwd=root)
    assert status.returncode == 0 and "running" in status.stdout and "none yet" in status.stdout
    shown = json.loads(andon("experiment", "status", "menu", "--json", cwd=root).stdout)
    assert shown["results"]["conversion"]["B"]["p_value"] == 1.0  # nothing seen yet: no evidence
    stopped = andon("experiment", "stop", "menu", "--reason", "enough", cwd=root)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    korean = andon("experiment", "stop", "menu", cwd=root, lang="ko")
    assert korean.returncode != 0 and "진행 중인 실험이 없습니다" in korean.stderr


def test_an_experiment_set_by_flags_needs_no_experiments_entry(root: Path) -> None:
    started = andon("experiment", "start", "menu", "v1", "v2", "--metric", "conversion", "--split", "30/70",
                    "--guardrail", "error_rate", "--min-samples", "50", "--json", cwd=root)  # fmt: skip
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    assert record["name"] == "v1-vs-v2" and record["metric"] == {"metric": "conversion", "event": None, "better": None}
    assert [(a["version_name"], a["weight"]) for a in record["arms"]] == [("v1", 3000), ("v2", 7000)]
    shown = json.loads(andon("experiment", "status", "menu", "--json", cwd=root).stdout)
    assert set(shown["results"]) == {"conversion", "error_rate"}
    assert andon("experiment", "stop", "menu", "--reason", "done", cwd=root).returncode == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["v1", "v2", "--metric", "conversion", "--split", "50/40"], "--split: the arms' weights add up to 90"),
        (["v1", "v2", "--split", "50/50"], "--metric: an experiment of versions given on the command line"),
        (["v1", "v2", "--metric", "clicks"], "--metric: unknown experiment metric 'clicks'"),
        (["v1", "v9", "--metric", "conversion"], "VERSIONS:"),
        (["tone", "--metric", "conversion"], "NAME: --metric set an experiment of two or more versions"),
    ],
)
def test_a_bad_flag_is_named_without_a_traceback(root: Path, args: list[str], words: str) -> None:
    done = andon("experiment", "start", "menu", *args, cwd=root)
    assert done.returncode != 0 and words in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "has had no experiment" in andon("experiment", "status", "menu", cwd=root).stdout
