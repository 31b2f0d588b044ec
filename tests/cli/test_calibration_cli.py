"""``andon eval --suggest-routing``, ``andon power`` and compare's detectable difference, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Confidence rises with the case number; cases 0–5 are answered wrong. 60 cases.
RULES = """
def review(variables):
    i = int(variables["i"])
    right = "reject" if i % 2 else "approve"
    wrong = "approve" if i % 2 else "reject"
    return {"decision": wrong if i < 6 else right, "confidence": round(0.3 + 0.7 * i / 59, 4)}


def steady(variables):
    # Wrong on the last four cases instead: 10 of 60 disagree with v1, 6 one way and 4 the other.
    i = int(variables["i"])
    right = "reject" if i % 2 else "approve"
    return {"decision": right if i < 56 else ("approve" if i % 2 else "reject"), "confidence": 0.9}
"""


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "cal_rules.py").write_text(RULES, encoding="utf-8")
    cases = [{"id": f"c{i:02d}", "vars": {"i": i}, "label": "reject" if i % 2 else "approve"} for i in range(60)]
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: cal
            features:
              menu:
                dataset: cases.jsonl
                graders:
                  - type: label
                    path: decision
                    options: {labels: [approve, reject]}
                versions:
                  v1: {python: cal_rules:review}
                  v2: {python: cal_rules:steady}
            """
        ),
        encoding="utf-8",
    )
    return tmp_path


def test_suggest_routing_prints_the_threshold_its_interval_and_the_yaml(workspace: Path) -> None:
    shown = andon("eval", "menu", "--versions", "v1", "--suggest-routing", "precision >= 0.9", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    # From case 5 up (confidence 0.3593): 54 of 55 right; Clopper–Pearson's lower bound 0.9028 reaches 0.9.
    # One case lower (53 of 56) it would be 0.8513: not enough.
    text = " ".join(shown.stdout.split())  # the console wraps long lines
    assert "automate answers with confidence ≥ 0.3593" in text
    assert "automating 55 of 60 answers = 91.7%" in text and "Clopper–Pearson" in text
    assert "confidence_path: confidence" in shown.stdout and "min_confidence: 0.3593" in shown.stdout
    as_json = andon("eval", "menu", "--versions", "v1", "--suggest-routing", "precision >= 0.9", "--json",
                    cwd=workspace)  # fmt: skip
    data = json.loads(as_json.stdout)
    (row,) = data["routing"]
    assert row["min_confidence"] == pytest.approx(0.3593) and row["automated"] == 55
    assert row["precision_low"] == pytest.approx(0.9028, abs=1e-3)
    (calibration,) = data["calibration"]
    assert calibration["source"] == "field:confidence" and calibration["n"] == 60 and len(calibration["bins"]) == 10


def test_an_unreachable_target_and_a_bad_target_are_explained(workspace: Path) -> None:
    out = andon("eval", "menu", "--versions", "v1", "--suggest-routing", "precision >= 0.99", cwd=workspace)
    assert out.returncode == 0 and "no confidence threshold reaches precision >= 0.99" in " ".join(out.stdout.split())
    bad = andon("eval", "menu", "--suggest-routing", "accuracy >= 0.9", cwd=workspace)
    assert bad.returncode == 2 and "precision >= 0.99" in bad.stderr and "Traceback" not in bad.stderr
    korean = andon("eval", "menu", "--versions", "v1", "--suggest-routing", "precision >= 0.9", cwd=workspace,
                   lang="ko")  # fmt: skip
    assert "자동 처리" in korean.stdout and "검토 대기열" in korean.stdout


def test_the_html_report_draws_the_reliability_diagram(workspace: Path) -> None:
    out = andon("eval", "menu", "--html", "r.html", cwd=workspace)
    assert out.returncode == 0, out.stderr
    page = (workspace / "r.html").read_text(encoding="utf-8")
    assert '<section id="calibration">' in page and "Reliability — v1" in page and "<polyline" in page


def test_compare_prints_the_detectable_difference_beside_no_difference(workspace: Path) -> None:
    assert andon("eval", "menu", cwd=workspace).returncode == 0
    shown = andon("compare", "v1", "v2", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    # 10 of 60 disagree (6 fixed, 4 broken): with that discordance McNemar detects 14.5 points at 80% power.
    text = " ".join(shown.stdout.split())  # the console wraps long lines
    assert "No detectable difference" in text
    assert "With 60 pairs and 16.7% of them disagreeing, a pass-rate difference of 14.5%" in text
    data = json.loads(andon("compare", "v1", "v2", "--json", cwd=workspace).stdout)
    assert data["detectable"]["discordance"] == pytest.approx(1 / 6) and data["detectable"]["power"] == 0.8


def test_power_answers_both_directions(tmp_path: Path) -> None:
    needed = andon("power", "paired", "--discordance", "0.5", "--difference", "0.4", cwd=tmp_path)
    assert needed.returncode == 0 and "n = 23" in needed.stdout
    data = json.loads(andon("power", "proportions", "--p", "0.5", "--n", "408", "--json", cwd=tmp_path).stdout)
    assert data["difference"] == pytest.approx(0.1, abs=0.002)
    means = json.loads(andon("power", "means", "--sd", "1", "--difference", "0.5", "--json", cwd=tmp_path).stdout)
    assert means["n"] == 64
    both = andon("power", "means", "--sd", "1", "--difference", "0.5", "--n", "10", cwd=tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    korean = andon("power", "paired", "--discordance", "0.2", "--n", "102", cwd=tmp_path, lang="ko")
    assert korean.returncode == 0 and "대응 비교" in korean.stdout
