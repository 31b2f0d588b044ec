"""Typed settings accept every andon.yaml written before them: the starter, the demo, and the suite's workspaces.

``fixtures/configs_before_typed_settings.json`` holds each andon.yaml the suite loaded at commit 6834e17 (the
last one with one flat ``GraderSpec``), with that schema's parse of its graders and providers; the typed
schema must read the same values from each.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from andon.config.loader import load_config
from andon.config.problems import InvalidConfig
from andon.config.schema import GRADER_TYPES
from andon.demo.workspace import create_workspace
from andon.evals.dataset import load_dataset
from andon.evals.graders import GraderContext, build_graders, grade_case
from andon.starter import write_starter

FIXTURE = Path(__file__).parent / "fixtures" / "configs_before_typed_settings.json"
ENTRIES: list[dict[str, Any]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
ENV = {"HOST": "127.0.0.1:9", "KEY": "sk-test", "OPENAI_API_KEY": "sk-test"}


def _unknown_types(entry: dict[str, Any]) -> list[str]:
    types = [g["type"] for graders in entry["graders"].values() for g in graders]
    return [kind for kind in types if kind.removeprefix("not-") not in GRADER_TYPES]


def test_the_fixture_covers_the_suites_workspaces() -> None:
    assert len(ENTRIES) >= 100
    kinds = {g["type"] for entry in ENTRIES for graders in entry["graders"].values() for g in graders}
    assert {"label", "llm-rubric", "icontains", "equals", "regex"} <= kinds


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"config{i}" for i in range(len(ENTRIES))])
def test_every_config_loaded_before_loads_to_the_same_values(entry: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(entry["text"], encoding="utf-8")
    if _unknown_types(entry):
        # Loaded once and failed later, at `andon eval`; now the type is refused at load, with its line.
        with pytest.raises(InvalidConfig) as info:
            load_config(path, environ=ENV)
        assert all(p.field.endswith(".type") and p.where.startswith(f"{path}:") for p in info.value.problems)
        return
    config = load_config(path, environ=ENV).config
    for name, before in entry["graders"].items():
        assert [g.model_dump(mode="json", exclude_unset=True) for g in config.features[name].graders] == before
    providers = {
        name: p.model_dump(mode="json", exclude_unset=True, exclude={"api_key"}) for name, p in config.providers.items()
    }
    assert providers == entry["providers"]


async def _grade_expected(root: Path) -> int:
    """Every feature's graders built, and run on each case's own expected answer; the number of cases graded."""
    sys.path.insert(0, str(root))
    try:
        config = load_config(root / "andon.yaml", environ=ENV).config
        graded = 0
        for name, feature in config.features.items():
            graders = build_graders(feature.graders, where=f"features.{name}.graders")
            assert feature.dataset is not None
            for case in load_dataset(Path(feature.dataset), root).cases:
                answer = case.expected if case.expected is not None else {"decision": case.label}
                parsed = None if isinstance(answer, str) else answer
                text = answer if parsed is None else json.dumps(answer, ensure_ascii=False)
                ctx = GraderContext(case=case, output_text=text, output_json=parsed)
                _, passed, grades = await grade_case(graders, ctx, feature.pass_threshold)
                assert passed, (name, case.id, [g.reason for g in grades])
                graded += 1
        return graded
    finally:
        sys.path.remove(str(root))


async def test_the_starter_workspace_and_its_datasets(tmp_path: Path) -> None:
    write_starter(tmp_path, "shop")
    assert await _grade_expected(tmp_path) > 0


async def test_the_demo_workspace_and_its_dataset(tmp_path: Path) -> None:
    create_workspace(tmp_path, "en", fresh=True)
    assert await _grade_expected(tmp_path) >= 100
