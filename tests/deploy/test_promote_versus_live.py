"""``andon promote`` with ``accuracy >= live - 0.1``: judged against the live version's results on the same cases."""

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
from andon.evals.runner import run_evaluation
from andon.workspace import Workspace

RULES = """
def good(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}


def same(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}


def almost(variables):
    # Right on 37 of 40: it misses the three "late" listings with a phone number.
    text = variables["text"]
    return {"decision": "reject" if "010" in text and "late" not in text else "approve"}
"""


def _cases() -> list[dict[str, object]]:
    out = []
    for i in range(40):
        phone = i % 2 == 0
        late = phone and i < 6
        text = f"listing {i}" + (" call 010-1234" if phone else "") + (" late" if late else "")
        out.append({"id": f"c{i:02d}", "vars": {"text": text}, "label": "reject" if phone else "approve"})
    return out


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    (tmp_path / "live_rules.py").write_text(RULES, encoding="utf-8")
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in _cases()) + "\n", encoding="utf-8")
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: versus-live
            features:
              listing:
                dataset: cases.jsonl
                graders:
                  - type: label
                    path: decision
                    options: {labels: [approve, reject]}
                criteria: ["accuracy >= 0.9", "accuracy >= live - 0.1"]
                versions:
                  good: {python: live_rules:good}
                  same: {python: live_rules:same}
                  almost: {python: live_rules:almost}
            """
        ),
        encoding="utf-8",
    )
    with Workspace.open(tmp_path, database_url=database_url) as opened:
        yield opened


def evaluate(ws: Workspace, *names: str) -> str:
    data = load_dataset(Path("cases.jsonl"), ws.root)
    versions = [ws.version("listing", n) for n in names]

    async def go() -> str:
        try:
            return (await run_evaluation(ws, "listing", versions, data, repeats=1, concurrency=2)).run_id
        finally:
            await ws.aclose_providers()

    return asyncio.run(go())


def test_the_first_promotion_has_nothing_live_to_compare_with(ws: Workspace) -> None:
    evaluate(ws, "good")
    result = deploy.promote(ws, "listing", "good", actor="jieun")
    assert result.changed and result.verdict.passed
    assert "nothing of listing is live yet" in (result.verdict.note or "")


def test_an_equal_version_passes_against_live_from_the_live_versions_own_run(ws: Workspace) -> None:
    evaluate(ws, "good")
    deploy.promote(ws, "listing", "good", actor="jieun")
    evaluate(ws, "same")  # a run without the live version: its results come from good's run
    result = deploy.promote(ws, "listing", "same", actor="jieun")
    live = next(c for c in result.verdict.criteria if c.text == "accuracy >= live - 0.1")
    assert result.changed and live.passed and live.value == 0.0 and live.judged_on == "lower bound"
    assert live.judged_value is not None and -0.1 < live.judged_value < 0  # 40 cases: the bound is about −0.09
    assert "40 shared cases" in (live.note or "")


def test_a_version_that_meets_the_absolute_bar_but_is_worse_than_live_is_refused(ws: Workspace) -> None:
    evaluate(ws, "good", "almost")
    deploy.promote(ws, "listing", "good", actor="jieun")
    verdict = deploy.evaluation_verdict(ws, "listing", ws.version("listing", "almost"))
    absolute = next(c for c in verdict.criteria if c.text == "accuracy >= 0.9")
    assert absolute.passed and absolute.value == pytest.approx(37 / 40)
    with pytest.raises(PromotionRefused) as refused:
        deploy.promote(ws, "listing", "almost", actor="jieun")
    assert [line.split(":")[0] for line in refused.value.failing] == ["accuracy >= live - 0.1"]
    assert "measured -0.075" in refused.value.failing[0]
    assert ws.store.live_version("listing") == (ws.version("listing", "good").id, "good")


def test_a_live_version_never_evaluated_cannot_vouch(ws: Workspace) -> None:
    deploy.promote(ws, "listing", "same", force=True, actor="minho", reason="hotfix")
    evaluate(ws, "good")
    with pytest.raises(PromotionRefused) as refused:
        deploy.promote(ws, "listing", "good", actor="jieun")
    assert "live version same has no finished evaluation" in refused.value.failing[0]
