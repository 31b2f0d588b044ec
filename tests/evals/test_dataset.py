"""Datasets: YAML, JSONL and CSV cases; errors that name file and line; files kept inside the workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.errors import ConfigError
from andon.evals.dataset import load_dataset

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def test_jsonl_yaml_and_csv_give_the_same_cases(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(PNG)
    rows = [
        {"id": "a", "vars": {"menu_name": "김밥", "photo": "img/a.png"}, "label": "approve", "tags": ["x"]},
        {"id": "b", "vars": {"menu_name": "소주 단품", "photo": "img/a.png"}, "label": "reject", "expected": {"n": 1}},
    ]
    (tmp_path / "cases.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    (tmp_path / "cases.yaml").write_text(
        "cases:\n"
        "  - {id: a, vars: {menu_name: 김밥, photo: img/a.png}, label: approve, tags: [x]}\n"
        "  - {id: b, vars: {menu_name: 소주 단품, photo: img/a.png}, label: reject, expected: {n: 1}}\n"
    )
    (tmp_path / "cases.csv").write_text(
        "id,menu_name,photo,label,tags,expected\n"
        "a,김밥,img/a.png,approve,x,\n"
        'b,소주 단품,img/a.png,reject,,"{""n"": 1}"\n'
    )
    loaded = [load_dataset(Path(f"cases.{ext}"), tmp_path) for ext in ("jsonl", "yaml", "csv")]
    for dataset in loaded:
        assert [c.id for c in dataset.cases] == ["a", "b"]
        assert dataset.cases[0].vars["menu_name"] == "김밥" and dataset.cases[1].label == "reject"
        assert dataset.cases[0].tags == ("x",)
        assert dataset.cases[1].expected == {"n": 1}
        # File variables are resolved against the dataset's folder, once.
        assert dataset.cases[0].vars["photo"] == str((tmp_path / "img" / "a.png").resolve())
    assert loaded[0].cases[1].source == f"{tmp_path / 'cases.jsonl'}:2"
    assert loaded[1].cases[1].source == f"{tmp_path / 'cases.yaml'}:3"
    assert loaded[2].cases[1].source == f"{tmp_path / 'cases.csv'}:3"


def test_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "vars": {}}\n{"id": "b", "vars": {}\n')
    with pytest.raises(ConfigError, match=r"c\.jsonl:2:"):
        load_dataset(path, tmp_path)
    path.write_text('{"id": "a", "vars": {}}\n\n{"id": "a", "vars": {}}\n')
    with pytest.raises(ConfigError, match=r"used twice \(first at .*c\.jsonl:1\)") as info:
        load_dataset(path, tmp_path)
    assert info.value.where == f"{path}:3"
    path.write_text('{"id": "a", "input": "x"}\n')
    with pytest.raises(ConfigError, match="unknown case field") as info:
        load_dataset(path, tmp_path)
    assert "vars" in (info.value.hint or "")


def test_paths_outside_the_workspace_are_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    (workspace / "c.jsonl").write_text('{"id": "a", "vars": {"photo": "../secret.png"}}\n')
    with pytest.raises(ConfigError, match="outside the workspace"):
        load_dataset(Path("c.jsonl"), workspace)
    (tmp_path / "outside.jsonl").write_text('{"id": "a", "vars": {}}\n')
    with pytest.raises(ConfigError, match="outside the workspace"):
        load_dataset(Path("../outside.jsonl"), workspace)
    (workspace / "c.jsonl").write_text('{"id": "a", "vars": {"photo": "missing.jpg"}}\n')
    with pytest.raises(ConfigError, match="does not exist"):
        load_dataset(Path("c.jsonl"), workspace)


def test_unknown_format_and_empty(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("x")
    with pytest.raises(ConfigError, match="unknown dataset format"):
        load_dataset(Path("c.txt"), tmp_path)
    (tmp_path / "c.jsonl").write_text("\n")
    with pytest.raises(ConfigError, match="no cases"):
        load_dataset(Path("c.jsonl"), tmp_path)


def test_csv_human_labels_and_generated_ids(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("question,human.politeness\n안녕?,pass\n뭐?,fail\n")
    dataset = load_dataset(Path("c.csv"), tmp_path)
    assert [c.id for c in dataset.cases] == ["c-0001", "c-0002"]
    assert dataset.cases[0].human == {"politeness": "pass"} and dataset.cases[0].vars == {"question": "안녕?"}


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
CASE = st.fixed_dictionaries(
    {"vars": st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), TEXT, max_size=4)},
    optional={"label": st.sampled_from(["approve", "reject"]), "tags": st.lists(TEXT, max_size=3)},
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50)
@given(cases=st.lists(CASE, min_size=1, max_size=8))
def test_jsonl_round_trip(tmp_path: Path, cases: list[dict[str, object]]) -> None:
    rows = [{"id": f"case-{i}", **c} for i, c in enumerate(cases)]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    loaded = load_dataset(path, tmp_path)
    assert [c.id for c in loaded.cases] == [r["id"] for r in rows]
    for case, row in zip(loaded.cases, rows, strict=True):
        assert case.vars == row["vars"] and case.label == row.get("label")
        assert list(case.tags) == row.get("tags", [])
