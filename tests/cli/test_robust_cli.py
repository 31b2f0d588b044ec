"""`andon eval --robustness`, `andon robustness` and `andon agreement` end to end: real store, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from andon.store import Store

RULES = """
def review(variables):
    text = variables["description"]
    return {"decision": "reject" if "010" in text or "생각하지 않나요" in text else "approve"}
"""


def _workspace(root: Path, robustness: str = "") -> None:
    (root / "robust_rules.py").write_text(RULES, encoding="utf-8")
    lines = []
    for i in range(12):
        bad = i % 3 == 0
        text = f"메뉴 {i} 문의는 010-0000-{i:04d}로 주세요" if bad else f"맛있는 김치찌개 {i}번 메뉴입니다"
        labels = {"alice": "reject" if bad else "approve", "bob": "reject" if bad or i == 4 else "approve"}
        case = {"id": f"c{i:02d}", "vars": {"description": text}, "label": "reject" if bad else "approve",
                "labels": labels}  # fmt: skip
        lines.append(json.dumps(case, ensure_ascii=False))
    (root / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "cases.guideline.md").write_text("# 지침\n전화번호가 있으면 거절합니다.\n", encoding="utf-8")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: robust-test
            features:
              menu-review:
                dataset: cases.jsonl
                graders:
                  - {type: label, path: decision}
                versions:
                  rules:
                    python: robust_rules:review
            """
        )
        + robustness,
        encoding="utf-8",
    )


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_eval_runs_the_suite_as_paired_cases_and_reports_the_flips(tmp_path: Path) -> None:
    # --robustness picks the types; andon.yaml's settings of a type it names still apply (here: one leading text).
    _workspace(tmp_path, '    robustness:\n      perturbations: [{type: leading, texts: ["라고 생각하지 않나요?"]}]\n')
    result = andon("eval", "menu-review", "--robustness", "spacing,leading,register", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    rates = {r["perturbation"]: r for r in data["robustness"]["rates"]}
    # Spacing and register never touch "010"; the leading question makes the rules reject every approved case.
    assert (rates["spacing"]["pairs"], rates["spacing"]["flips"]) == (12, 0)
    assert (rates["register"]["pairs"], rates["register"]["flips"]) == (8, 0)
    assert (rates["register"]["flips"], rates["leading"]["pairs"], rates["leading"]["flips"]) == (0, 12, 8)
    assert rates["leading"]["low"] < 8 / 12 < rates["leading"]["high"]
    flipped = {f["original_id"] for f in data["robustness"]["flipped"]}
    assert flipped == {f"c{i:02d}" for i in range(12) if i % 3}
    assert all(f["direction"] == "broke" for f in data["robustness"]["flipped"])
    assert data["summaries"][0]["metrics"]["accuracy"]["value"] == 1.0  # the main run holds the originals only

    run_id = data["robustness"]["run_id"]
    with Store.open(workspace=tmp_path) as store:
        run = store.get_run(run_id)
        # 12 originals, 12 respaced, 12 led; register leaves "…주세요" alone (반말 has no one form for -세요).
        assert len(store.run_cases(run_id)) == 12 + 12 + 12 + 8
        assert run.config["guideline"]["file"] == "cases.guideline.md" and len(run.config["guideline"]["sha256"]) == 64
    shown = andon("robustness", run_id, "--markdown", "r.md", "--html", "r.html", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Cases whose answer flipped" in shown.stdout and "c01" in shown.stdout
    assert "| leading | 12 | 8 |" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "생각하지 않나요" in (tmp_path / "r.html").read_text(encoding="utf-8")
    korean = andon("robustness", run_id, cwd=tmp_path, lang="ko")
    assert "답이 뒤집힌 케이스" in korean.stdout

    main = andon("robustness", data["run"]["id"], cwd=tmp_path)
    assert main.returncode == 2 and "is not a robustness run" in main.stderr and "Traceback" not in main.stderr


def test_andon_yaml_declares_the_suite_and_a_bad_one_is_a_config_error(tmp_path: Path) -> None:
    _workspace(tmp_path, "    robustness:\n      seed: 5\n      perturbations: [jamo, {type: typo, rate: 0.2}]\n")
    result = andon("eval", "menu-review", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    robustness = json.loads(result.stdout)["robustness"]
    assert robustness["seed"] == 5 and robustness["perturbations"] == ["jamo", "typo"]
    again = json.loads(andon("eval", "menu-review", "--json", cwd=tmp_path).stdout)["robustness"]
    assert again["rates"] == robustness["rates"] and again["flipped"] == robustness["flipped"]  # same seed

    bad = andon("eval", "menu-review", "--robustness", "spacin", cwd=tmp_path)
    assert bad.returncode == 2 and "--robustness spacin" in bad.stderr and "spacing" in bad.stderr


def test_agreement_between_labellers_with_the_guideline_hash(tmp_path: Path) -> None:
    _workspace(tmp_path)
    result = andon("agreement", "menu-review", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["raters"] == ["alice", "bob"] and data["labelled"] == 12 and data["disagreements"] == ["c04"]
    methods = {v["method"]: v for v in data["values"]}
    assert set(methods) == {"cohen_kappa", "krippendorff_alpha"}
    assert 0 < methods["cohen_kappa"]["value"] < 1 and data["guideline"]["file"] == "cases.guideline.md"
    text = andon("agreement", "menu-review", cwd=tmp_path, lang="ko")
    assert "코언 카파" in text.stdout and "라벨링 지침" in text.stdout
