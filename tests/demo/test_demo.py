"""The demo: its workspace is valid and complete, and `andon demo` runs end to end on the embedded model."""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.demo.workspace import FEATURE, create_workspace
from andon.evals.dataset import load_dataset
from andon.versions.canonical import build_version
from andon.workspace import Workspace


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


def _wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval, written out here so the test does not trust the code it checks."""
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


@pytest.mark.local_model
def test_andon_demo_runs_end_to_end_offline(tmp_path: Path) -> None:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "400"}  # wide: one table row per line
    result = subprocess.run(
        # Part 3 (the agents flow) has its own end-to-end test on the embedded model (tests/demo/test_demo_agents.py).
        [sys.executable, "-m", "andon", "demo", "--path", str(tmp_path / "demo"), "--limit", "6", "--skip-agents"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "demo" / "report.html").read_text(encoding="utf-8")
    assert "v3-hybrid" in html and "m001" in html
    assert "andon cite out_" in result.stdout and "Traceback" not in result.stderr

    # The printed numbers are the stored results': accuracy per version with its 95 % Wilson interval …
    with Workspace.open(tmp_path / "demo") as ws:
        run = ws.store.list_runs(FEATURE)[0]
        cells = list(ws.store.iter_run_results(run.id))
    names = [name for name, _ in run.versions]
    accuracy_row = next(line for line in result.stdout.splitlines() if line.startswith("│ Accuracy "))
    printed = re.findall(r"([\d.]+%) \[([\d.]+%), ([\d.]+%)\]", accuracy_row)
    assert len(printed) == len(names) == 3
    passed: dict[str, dict[str, bool]] = collections.defaultdict(dict)
    for cell in cells:
        passed[cell["version_name"]][cell["case_id"]] = cell["predicted_label"] == cell["expected_label"]
    for name, (point, low, high) in zip(names, printed, strict=True):
        hits, n = sum(passed[name].values()), len(passed[name])
        assert n == 6
        assert _percent(point) == pytest.approx(hits / n, abs=0.0005)  # printed to 0.1 %
        expected_low, expected_high = _wilson(hits, n)
        assert _percent(low) == pytest.approx(expected_low, abs=0.0005)
        assert _percent(high) == pytest.approx(expected_high, abs=0.0005)
        assert _percent(low) <= _percent(point) <= _percent(high)

    # … and McNemar's discordant pairs and exact p between the last two versions, counted from the cells.
    mcnemar = re.search(
        r"McNemar: b = (\d+) \((\S+) passed, (\S+) failed\), c = (\d+) .*exact p = ([\d.]+)", result.stdout
    )
    assert mcnemar is not None, result.stdout[-3000:]
    a_name, b_name = mcnemar.group(2), mcnemar.group(3)
    a_pass = {c["case_id"]: c["passed"] for c in cells if c["version_name"] == a_name}
    b_pass = {c["case_id"]: c["passed"] for c in cells if c["version_name"] == b_name}
    b = sum(a_pass[k] and not b_pass[k] for k in a_pass)
    c = sum(b_pass[k] and not a_pass[k] for k in a_pass)
    assert (int(mcnemar.group(1)), int(mcnemar.group(4))) == (b, c)
    n_discordant = b + c
    exact = (
        min(1.0, 2 * sum(math.comb(n_discordant, k) for k in range(min(b, c) + 1)) / 2**n_discordant)
        if n_discordant
        else 1.0
    )
    assert float(mcnemar.group(5)) == pytest.approx(exact, abs=0.0005)

    # The demo's objective shows the evaluated accuracy of the live version on the board.
    board = subprocess.run(
        [sys.executable, "-m", "andon", "okr", "board", "--json"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path / "demo",
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    accuracy = next(r for r in json.loads(board.stdout)["rows"] if "accuracy" in r["key_result"])
    assert accuracy["current"] is not None and 0.0 <= accuracy["current"] <= 1.0

    # The summary prints each version's slices, and the routing suggestion on the label's token-logprob
    # confidence: every answer has one (a model's logprobs, or 1.0 where v3's rules decided alone).
    assert sum(f"Slices — {n}" in result.stdout for n in names) == len(names), result.stdout[-3000:]
    routing = [line for line in result.stdout.splitlines() if "(logprob:decision" in line]
    assert [line.split(":")[0].strip() for line in routing] == names, result.stdout[-3000:]
    assert all("on these 6 answers" in line or "of 6 answers" in line for line in routing)
