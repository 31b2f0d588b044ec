"""``andon promote`` with ``flip_rate[leading] <= 0.1``: judged on the version's newest robustness run, the other
criteria on its newest plain evaluation; without a robustness run the refusal names the run that is missing."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from andon import deploy
from andon.deploy import PromotionRefused
from andon.evals.dataset import load_dataset
from andon.evals.perturb.suite import build_suite
from andon.evals.robust_run import perturbed_dataset
from andon.evals.runner import run_evaluation
from andon.workspace import Workspace

RULES = """
def steady(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}


def swayed(variables):
    # A leading question ("…라고 생각하지 않나요?") talks it into rejecting: its answers flip.
    text = variables["text"]
    return {"decision": "reject" if "010" in text or "생각하지 않나요" in text else "approve"}
"""
FLIP = "flip_rate[leading] <= 0.1"


def _cases() -> list[dict[str, object]]:
    out = []
    for i in range(20):
        phone = i % 4 == 0
        text = f"김치찌개 {i}번 메뉴입니다" + (" 문의 010-1234" if phone else "")
        out.append({"id": f"c{i:02d}", "vars": {"text": text}, "label": "reject" if phone else "approve"})
    return out


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    (tmp_path / "flip_rules.py").write_text(RULES, encoding="utf-8")
    (tmp_path / "cases.jsonl").write_text(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in _cases()) + "\n", encoding="utf-8"
    )
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: flip-gate
            features:
              listing:
                dataset: cases.jsonl
                graders:
                  - type: label
                    path: decision
                    options: {{labels: [approve, reject]}}
                criteria: ["accuracy >= 0.9", "{FLIP}"]
                robustness:
                  perturbations: [{{type: leading, texts: ["라고 생각하지 않나요?"]}}]
                versions:
                  steady: {{python: flip_rules:steady}}
                  swayed: {{python: flip_rules:swayed}}
            """
        ),
        encoding="utf-8",
    )
    with Workspace.open(tmp_path, database_url=database_url) as opened:
        yield opened


def evaluate(ws: Workspace, *names: str, robust: bool = False) -> str:
    """A plain evaluation of ``names``, or (``robust``) the feature's perturbation suite as a robustness run."""
    data = load_dataset(Path("cases.jsonl"), ws.root)
    versions = [ws.version("listing", n) for n in names]

    async def go() -> str:
        try:
            dataset, extra = data, None
            if robust:
                suite = build_suite(ws.config.features["listing"].robustness)
                dataset, extra = await perturbed_dataset(data, suite, 0)
            outcome = await run_evaluation(
                ws, "listing", versions, dataset, repeats=1, concurrency=2, extra_config=extra
            )
            return outcome.run_id
        finally:
            await ws.aclose_providers()

    return asyncio.run(go())


def test_without_a_robustness_run_the_refusal_names_the_missing_run(ws: Workspace) -> None:
    plain = evaluate(ws, "steady")
    with pytest.raises(PromotionRefused) as refused:
        deploy.promote(ws, "listing", "steady", actor="jieun")
    (line,) = refused.value.failing  # accuracy passed; only the flip criterion is missing
    assert line.startswith(FLIP) and "steady has no finished robustness run" in line
    assert plain in line and "andon eval listing --versions steady --robustness" in line
    assert ws.store.live_version("listing") is None


def test_flip_rates_come_from_the_newest_robustness_run_and_accuracy_from_the_plain_one(ws: Workspace) -> None:
    plain = evaluate(ws, "steady", "swayed")
    robust = evaluate(ws, "steady", "swayed", robust=True)  # newer than the plain run, and not an evaluation

    steady = deploy.promote(ws, "listing", "steady", actor="jieun")
    assert steady.changed and steady.verdict.passed and steady.verdict.run_id == plain
    flip = next(c for c in steady.verdict.criteria if c.text == FLIP)
    assert flip.passed and flip.value == 0.0
    assert robust in (steady.verdict.note or "")

    with pytest.raises(PromotionRefused) as refused:
        deploy.promote(ws, "listing", "swayed", actor="jieun")
    assert refused.value.run_id == plain
    (line,) = refused.value.failing
    # 15 approved listings turn into rejections under the leading question; the 5 rejected ones stay rejected.
    assert line.startswith(FLIP) and "measured 0.75" in line
    verdict = deploy.evaluation_verdict(ws, "listing", ws.version("listing", "swayed"))
    accuracy = next(c for c in verdict.criteria if c.text == "accuracy >= 0.9")
    assert accuracy.passed and accuracy.value == 1.0  # the originals only: the plain run judged it
    assert ws.store.live_version("listing") == (ws.version("listing", "steady").id, "steady")
