"""``flip_rate[PERTURBATION]`` criteria: parsed, refused at their own line when the suite has no such perturbation,
and judged on the Wilson interval's upper bound when ``strict``, as a user runs ``andon eval``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from andon.config.criteria import parse_criterion
from andon.config.loader import load_config
from andon.errors import AndonError
from andon.evals.stats import wilson_interval

# The answer depends on the number of spaces in the text (mod 3), so the spacing perturbation flips some answers.
RULES = """
def review(variables):
    return {"decision": "reject" if variables["text"].count(" ") % 3 == 0 else "approve"}
"""
WORDS = ["김치 볶음밥 맛있는 점심", "떡볶이 와 순대 세트", "오늘 의 추천 메뉴 입니다", "치킨 한 마리 반값"]


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def _workspace(root: Path, criterion: str, perturbations: str = "[spacing]") -> Path:
    (root / "flip_rules.py").write_text(RULES, encoding="utf-8")
    cases = [{"id": f"c{i:02d}", "vars": {"text": f"{WORDS[i % 4]} {i}"}, "label": "approve"} for i in range(40)]
    (root / "cases.jsonl").write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n", "utf-8")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: flip
            features:
              menu:
                dataset: cases.jsonl
                graders: [{{type: label, path: decision}}]
                strict: true
                robustness:
                  perturbations: {perturbations}
                  seed: 3
                criteria:
                  - {criterion}
                versions:
                  v1: {{python: flip_rules:review}}
            """
        ),
        encoding="utf-8",
    )
    return root


def test_flip_rate_takes_a_perturbation_in_brackets() -> None:
    criterion = parse_criterion("flip_rate[typo] <= 5%")
    assert (criterion.metric, criterion.label, criterion.threshold, criterion.key) == (
        "flip_rate", "typo", 0.05, "flip_rate[typo]"
    )  # fmt: skip
    assert not criterion.higher_is_better  # strict judges the upper bound
    assert parse_criterion("flip_rate <= 0.1").label is None  # the repeats' flip rate, as before
    with pytest.raises(ValueError, match="cannot be measured per tag"):
        parse_criterion("flip_rate[tag=hard] <= 0.1")


def test_an_unknown_perturbation_is_refused_at_the_criterion_line(tmp_path: Path) -> None:
    _workspace(tmp_path, "flip_rate[spaicng] <= 0.1")
    with pytest.raises(AndonError) as refused:
        load_config(tmp_path / "andon.yaml")
    shown = str(refused.value)
    assert "andon.yaml:11:" in shown and "'spaicng'" in shown and "spacing" in shown and "flip_rate[any]" in shown
    _workspace(tmp_path, "flip_rate[any] <= 0.1")
    load_config(tmp_path / "andon.yaml")  # any: under at least one perturbation


def test_the_gate_judges_the_flip_rate_on_its_upper_bound(tmp_path: Path) -> None:
    root = _workspace(tmp_path, "flip_rate[spacing] <= 1.0")
    first = andon("eval", "menu", "--json", cwd=root)
    assert first.returncode == 0, first.stderr
    (summary,) = json.loads(first.stdout)["summaries"]
    metric = summary["metrics"]["flip_rate[spacing]"]
    n, flips = metric["n"], round(metric["value"] * metric["n"])
    assert n > 10 and 0 < flips < n, metric  # the suite changed cases and some answers flipped
    assert (metric["low"], metric["high"]) == pytest.approx(wilson_interval(flips, n))
    assert summary["metrics"]["flip_rate[any]"]["value"] == pytest.approx(metric["value"])
    # A threshold between the estimate and the upper bound: the estimate meets it, the pessimistic bound does not.
    between = (metric["value"] + metric["high"]) / 2
    _workspace(tmp_path, f"flip_rate[spacing] <= {between:.6f}")
    out = tmp_path / "r.json"
    assert andon("report", "latest", "--json", str(out), cwd=root).returncode == 0
    (judged,) = json.loads(out.read_text(encoding="utf-8"))["summaries"][0]["criteria"]
    assert judged["judged_value"] == pytest.approx(metric["high"]) and judged["judged_on"] == "upper bound"
    assert not judged["passed"]
    _workspace(tmp_path, f"flip_rate[spacing] <= {metric['high'] + 0.01:.6f}")
    gate = andon("eval", "menu", "--gate", cwd=root)
    assert gate.returncode == 0, gate.stdout[-2000:]
