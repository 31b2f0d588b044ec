"""`andon rollout`: start, status (table and JSON), pause, resume, promote, abort; errors without a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.rollouts import promote_stable, write_rollout_workspace

STEPS = [{"weight": 10, "hold": "10m"}, {"weight": 50, "calls": 100}]


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang, "COLUMNS": "200"}
    env.pop("ANDON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_rollout_workspace(tmp_path, STEPS)
    promote_stable(tmp_path, None)
    return tmp_path


def test_a_rollout_from_start_to_promotion_on_the_command_line(root: Path) -> None:
    refused = andon("rollout", "start", "menu", "v2", cwd=root)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr  # never evaluated: the gate refuses
    started = andon("rollout", "start", "menu", "v2", "--force", "--reason", "cli test", "--json", cwd=root)
    assert started.returncode == 0, started.stderr
    record = json.loads(started.stdout)
    assert (record["status"], record["step"], record["weight"], record["canary_name"]) == ("running", 0, 1000, "v2")
    again = andon("rollout", "start", "menu", "v3", "--force", "--reason", "x", cwd=root)
    assert again.returncode != 0 and record["id"] in again.stderr
    paused = andon("rollout", "pause", "menu", "--reason", "lunch", cwd=root)
    assert paused.returncode == 0 and "paused" in paused.stdout
    assert andon("rollout", "resume", "menu", cwd=root).returncode == 0
    status = andon("rollout", "status", "menu", cwd=root)
    assert status.returncode == 0 and "step 1 of 2" in status.stdout and "resumed" in status.stdout
    promoted = andon("rollout", "promote", "menu", "--reason", "looks good", cwd=root)
    assert promoted.returncode == 0, promoted.stderr
    shown = json.loads(andon("rollout", "status", "menu", "--json", cwd=root).stdout)
    assert shown["status"] == "promoted" and [e["kind"] for e in shown["events"]] == [
        "started", "paused", "resumed", "promoted"]  # fmt: skip
    live = andon("live", "menu", cwd=root)
    assert "v2" in live.stdout and record["id"] in live.stdout  # the history row names the rollout


def test_abort_needs_a_reason_and_errors_read_in_korean(root: Path) -> None:
    assert andon("rollout", "start", "menu", "v2", "--force", "--reason", "t", cwd=root).returncode == 0
    none = andon("rollout", "abort", "menu", "--reason", " ", cwd=root)
    assert none.returncode == 2 and "--reason" in none.stderr and "Traceback" not in none.stderr
    assert andon("rollout", "abort", "menu", "--reason", "changed my mind", cwd=root).returncode == 0
    korean = andon("rollout", "pause", "menu", cwd=root, lang="ko")
    assert korean.returncode != 0 and "롤아웃이 없습니다" in korean.stderr
