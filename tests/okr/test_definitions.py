"""`andon okr apply`: definitions as code — problems with file:line, a dry-run diff, idempotent apply by key."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.okr.okr_support import DEFINITIONS

from andon.config.problems import InvalidConfig
from andon.errors import ConfigError
from andon.okr import definitions
from andon.store import Store

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: planning is the same on both backends, which tests/okr/test_store.py covers."""
    with Store.open(f"sqlite:///{tmp_path / 'andon.db'}") as opened:
        yield opened


GOOD = DEFINITIONS


def _write(tmp_path: Path, text: str, name: str = "okr.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _problems(store: Store, path: Path) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        definitions.plan(store, path, now=NOW)
    return [f"{p.where} {p.field}: {p.message}" for p in caught.value.problems]


def test_a_dry_run_lists_every_addition_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    plan = definitions.plan(store, path, now=NOW)
    kinds = [(c.action, c.kind, c.key) for c in plan.changes]
    assert kinds == [
        ("add", "team", "product"),
        ("add", "team", "menu-ai"),  # the parent first
        ("add", "period", "2026Q4"),
        ("add", "objective", "menu-auto"),
        ("add", "key_result", "menu-auto.kr1"),
        ("add", "key_result", "menu-wait"),
        ("add", "key_result", "menu-auto.kr3"),
    ]
    lines = definitions.diff_lines(plan)
    assert any(line.startswith("+ key result menu-wait") and f"{path}:18:" in line for line in lines)
    assert "    direction: decrease" in lines  # inferred from start > target
    assert store.teams() == [] and store.objectives() == []


def test_apply_writes_once_and_a_second_apply_changes_nothing(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    definitions.apply(store, definitions.plan(store, path, now=NOW), actor="jiwoo")
    (obj,) = store.objectives()
    krs = store.key_results(objective=obj.id)
    assert [k.key for k in krs] == ["menu-auto.kr1", "menu-wait", "menu-auto.kr3"]
    assert krs[0].binding == {
        "type": "andon_metric", "feature": "menu-review", "metric": "label_share", "label": "approve", "window": "7d",
    }  # fmt: skip
    assert krs[1].owner == "jiwoo"  # the objective's owner by default
    assert krs[2].target == pytest.approx(1.25)  # a band without target aims at its middle
    assert [e.kind for e in store.kr_events(krs[0].id)] == ["created"]
    again = definitions.plan(store, path, now=NOW)
    assert again.empty and again.unchanged == 7
    assert definitions.diff_lines(again)[-1] == "0 to add, 0 to update, 7 unchanged"


def test_a_changed_target_and_owner_show_as_a_diff_and_become_history(store: Store, tmp_path: Path) -> None:
    definitions.apply(store, definitions.plan(store, _write(tmp_path, GOOD), now=NOW), actor="jiwoo")
    changed = GOOD.replace("target: 70", "target: 80").replace("owner: minsu", "owner: hana")
    plan = definitions.plan(store, _write(tmp_path, changed, "v2.yaml"), now=NOW)
    (change,) = plan.changes
    assert (change.action, change.key) == ("update", "menu-auto.kr1")
    assert change.fields == {"owner": ("minsu", "hana"), "target": (70.0, 80.0)}
    assert "    target: 70 → 80" in definitions.diff_lines(plan)
    definitions.apply(store, plan, actor="jiwoo")
    kr = store.key_result("menu-auto.kr1")
    events = store.kr_events(kr.id)
    assert [e.kind for e in events] == ["created", "target_changed", "owner_changed"]
    assert (events[1].before, events[1].after) == ({"target": 70.0}, {"target": 80.0})
    assert events[2].actor == "jiwoo"


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "says"),
    [
        ("team: menu-ai", "team: menu-ops", 9, "objectives[0].team", "unknown team 'menu-ops'"),
        ("owner: minsu", "owner: nobody", 13, "objectives[0].key_results[0].owner", "unknown owner 'nobody'"),
        ("target: 70", "target: 40", 16, "objectives[0].key_results[0].target", "start equals target"),
        ("start: 30", "start: 30\n        direction: increase", 22, "objectives[0].key_results[1].direction",
         "direction is increase"),
        ("direction: range", "direction: sideways", 26, "objectives[0].key_results[2].direction", "Input should be"),
        ("start: 40", "start: forty", 15, "objectives[0].key_results[0].start", "valid number"),
        ("period: 2026Q4", "period: 2026Q9", 10, "objectives[0].period", "is not a period"),
        ("binding: {type: andon_metric,", "binding: {kind: andon_metric,", 17,
         "objectives[0].key_results[0].binding", "type"),
    ],
)  # fmt: skip
def test_problems_name_the_file_line_and_field(
    store: Store, tmp_path: Path, old: str, new: str, line: int, field: str, says: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    (problem,) = _problems(store, path)
    assert problem.startswith(f"{path}:{line}:"), problem
    assert f" {field}" in problem and says in problem, problem
    assert store.objectives() == []


def test_every_problem_is_listed_at_once(store: Store, tmp_path: Path) -> None:
    bad = GOOD.replace("team: menu-ai", "team: nope").replace("owner: minsu", "owner: ghost")
    problems = _problems(store, _write(tmp_path, bad))
    assert len(problems) == 2 and "nope" in problems[0] and "ghost" in problems[1]


def test_bad_yaml_and_a_wrong_shape_are_config_errors_at_their_line(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        definitions.plan(store, _write(tmp_path, "teams:\n  - id: [unclosed\n"), now=NOW)
    assert caught.value.where is not None and caught.value.where.startswith(f"{tmp_path / 'okr.yaml'}:")
    with pytest.raises(ConfigError, match="mapping"):
        definitions.plan(store, _write(tmp_path, "- just a list\n"), now=NOW)
    with pytest.raises(InvalidConfig) as shape:
        definitions.plan(store, _write(tmp_path, "objectivs: []\n"), now=NOW)
    assert "did you mean 'objectives'" in str(shape.value)
    with pytest.raises(ConfigError, match="no definitions file"):
        definitions.plan(store, tmp_path / "missing.yaml", now=NOW)


def test_a_closed_period_refuses_changes_with_the_line(store: Store, tmp_path: Path) -> None:
    definitions.apply(store, definitions.plan(store, _write(tmp_path, GOOD), now=NOW), actor="jiwoo")
    store.close_period("2026Q4", NOW)
    assert definitions.plan(store, _write(tmp_path, GOOD), now=NOW).empty  # unchanged is fine
    (problem,) = _problems(store, _write(tmp_path, GOOD.replace("target: 70", "target: 75")))
    assert ":12:" in problem and "2026Q4 is closed" in problem


def test_duplicate_keys_and_unknown_parents(store: Store, tmp_path: Path) -> None:
    twice = GOOD + GOOD[GOOD.index("  - key: menu-auto") :]
    problems = _problems(store, _write(tmp_path, twice))
    assert any("defined twice" in p for p in problems)
    orphan = GOOD.replace("    period: 2026Q4\n", "    period: 2026Q4\n    parent: company-goal\n", 1)
    (problem,) = _problems(store, _write(tmp_path, orphan))
    assert "company-goal" in problem and ":11:" in problem
