"""``andon compare A B C D``: each against A, Holm-adjusted p-values, and which differences survive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The baseline is wrong on cases 0-19. "fixed" is right everywhere (20 fixed: McNemar p = 2 / 2^20); "some" and
# "others" each fix 6 of them and break none (p = 2 / 2^6 = 0.03125 < 0.05 alone, but not after Holm with 3 tests).
RULES = """
def _answer(i, wrong):
    right = "reject" if i % 2 else "approve"
    return {"decision": ("approve" if i % 2 else "reject") if wrong else right}

def base(variables):
    return _answer(int(variables["i"]), int(variables["i"]) < 20)

def fixed(variables):
    return _answer(int(variables["i"]), False)

def some(variables):
    return _answer(int(variables["i"]), 6 <= int(variables["i"]) < 20)

def others(variables):
    return _answer(int(variables["i"]), int(variables["i"]) < 14)
"""


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": "200"}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "holm_rules.py").write_text(RULES, encoding="utf-8")
    cases = [{"id": f"c{i:02d}", "vars": {"i": i}, "label": "reject" if i % 2 else "approve"} for i in range(60)]
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: holm
            features:
              menu:
                dataset: cases.jsonl
                graders: [{type: label, path: decision}]
                versions:
                  base: {python: holm_rules:base}
                  fixed: {python: holm_rules:fixed}
                  some: {python: holm_rules:some}
                  others: {python: holm_rules:others}
            """
        ),
        encoding="utf-8",
    )
    assert andon("eval", "menu", cwd=tmp_path).returncode in (0, 1)
    return tmp_path


def test_holm_keeps_the_large_difference_and_drops_the_two_small_ones(workspace: Path) -> None:
    data = json.loads(andon("compare", "base", "fixed", "some", "others", "--json", cwd=workspace).stdout)
    assert [c["b_name"] for c in data["comparisons"]] == ["fixed", "some", "others"]
    rows = {r["version"]: r for r in data["holm"]}
    big, small = 2 / 2**20, 2 / 2**6
    assert rows["fixed"]["p"] == pytest.approx(big) and rows["fixed"]["adjusted"] == pytest.approx(3 * big)
    # Alone each small one is "better"; Holm tests them at alpha/2 and alpha/1 after the first: p·2 = 0.0625.
    for name in ("some", "others"):
        assert rows[name]["verdict"] == "better" and rows[name]["p"] == pytest.approx(small)
        assert rows[name]["adjusted"] == pytest.approx(2 * small) and not rows[name]["survives"]
    assert rows["fixed"]["survives"] and data["alpha"] == 0.05
    shown = andon("compare", "base", "fixed", "some", "others", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "Holm-adjusted against base (3 comparisons, family-wise α = 0.05)" in text
    assert "some: p = 0.0312, Holm-adjusted p = 0.0625 — not significant after correction" in text
    assert "fixed: p = 1.91e-06, Holm-adjusted p = 5.72e-06 — better; the difference survives" in text


def test_one_version_compares_as_before(workspace: Path) -> None:
    single = json.loads(andon("compare", "base", "some", "--json", cwd=workspace).stdout)
    assert single["verdict"] == "better" and "holm" not in single
    assert "Holm" not in andon("compare", "base", "some", cwd=workspace).stdout
