"""The binding registry and specs (errors naming the field), the ``work`` binding over linked work items and the
``retention`` formula over three input bindings, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from andon.errors import ConfigError
from andon.extensions import KR_BINDINGS
from andon.okr.bindings import REGISTRY, BindingContext, BindingError, binding_class, build_binding, check_binding
from andon.okr.bindings.base import BUILTINS
from andon.store.okr import KeyResult, Objective, Period, Team, WorkItem
from andon.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[2]
PERIOD = Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31))
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    init_workspace(tmp_path / "ws", name="bind-test")
    with Workspace.open(tmp_path / "ws", database_url=database_url) as opened:
        opened.store.upsert_team(Team(id="menu-ai", name="Menu AI"))
        opened.store.upsert_period(PERIOD)
        yield opened


def add_kr(ws: Workspace, binding: dict[str, Any] | None, title: str = "ship it") -> KeyResult:
    objective = ws.store.add_objective(Objective(title="Menus review themselves", owner="ana", team="menu-ai",
                                                 period=PERIOD.id))  # fmt: skip
    kr = KeyResult(objective=objective.id, title=title, owner="ana", start=0, target=100, binding=binding)
    return ws.store.add_key_result(kr)


def context(ws: Workspace, kr: KeyResult) -> BindingContext:
    return BindingContext(ws, kr, PERIOD, NOW)


# The registry and the spec -----------------------------------------------------------------------------------


def test_the_registry_is_the_listed_extension_point_and_pyproject_declares_its_builtins() -> None:
    point = (KR_BINDINGS.group, KR_BINDINGS.kind)
    assert (REGISTRY.group, REGISTRY.kind) == point == ("andon.kr_bindings", "key-result binding")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    assert declared["andon.kr_bindings"] == BUILTINS
    for name in BUILTINS:
        assert binding_class(name).type_name == name


def test_a_registered_object_that_is_not_a_binding_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BUILTINS, "bogus", "andon.okr.sync:sync")
    with pytest.raises(ConfigError, match="not a Binding subclass") as refused:
        check_binding({"type": "bogus"}, "kr.binding")
    assert refused.value.where == "kr.binding.type"


@pytest.mark.parametrize(
    ("spec", "where", "says"),
    [
        ("andon_metric", "kr.binding", "a mapping with `type:`"),
        ({"feature": "menu"}, "kr.binding.type", "needs `type:`"),
        ({"type": "andon_metrc"}, "kr.binding.type", "unknown key-result binding type 'andon_metrc'"),
        ({"type": "andon_metric", "metric": "calls"}, "kr.binding.feature", "required"),
        ({"type": "andon_metric", "feature": "m", "metric": "accuracy"}, "kr.binding.metric", "unknown metric"),
        ({"type": "andon_metric", "feature": "m", "metric": "calls", "window": "soon"}, "kr.binding.window",
         "not a duration"),
        ({"type": "andon_metric", "feature": "m", "metric": "label_share"}, "kr.binding.label", "needs `label:`"),
        ({"type": "andon_metric", "feature": "m", "metric": "error_rate", "label": "x"}, "kr.binding.label",
         "does not apply"),
        ({"type": "andon_metric", "feature": "m", "metric": "gate"}, "kr.binding.gate_metric", "needs `gate_metric:`"),
        ({"type": "andon_metric", "feature": "m", "metric": "gate", "gate_metric": "accuracy", "window": "7d"},
         "kr.binding.window", "takes no `window:`"),
        ({"type": "work", "measure": "velocity"}, "kr.binding.measure", "share_done"),
        ({"type": "work", "measure": "share_done", "sclae": "fraction"}, "kr.binding.sclae", "unknown field"),
        ({"type": "retention", "customers_end": {"type": "work", "measure": "points_done"},
          "new_customers": {"type": "sql", "url": "sqlite:///c.db"},
          "customers_start": {"type": "work", "measure": "share_done"}},
         "kr.binding.new_customers.query", "required"),
    ],
)  # fmt: skip
def test_a_bad_spec_is_a_config_error_naming_the_field(spec: Any, where: str, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)) as bad:
        check_binding(spec, "kr.binding")
    assert bad.value.where == where


def test_a_typo_in_a_field_name_is_suggested() -> None:
    with pytest.raises(ConfigError) as bad:
        check_binding({"type": "sql", "url": "sqlite:///x.db", "query": "select 1", "timeout": 3}, "b")
    assert "'timeout_s'" in (bad.value.hint or "")


def test_a_valid_spec_gives_typed_settings() -> None:
    settings = check_binding({"type": "andon_metric", "feature": "menu", "metric": "label_share", "label": "approve",
                              "window": "7d"})  # fmt: skip
    assert settings.type == "andon_metric" and getattr(settings, "window") == 7 * 86400.0  # noqa: B009
    assert build_binding(settings).describe() == "menu label_share[approve] 7d"


# work --------------------------------------------------------------------------------------------------------


def test_work_counts_the_measures_links_only(ws: Workspace) -> None:
    kr = add_kr(ws, {"type": "work", "measure": "share_done"})
    items = [
        WorkItem(source="jira", external_id="MENU-1", title="a", done=True, points=3),
        WorkItem(source="jira", external_id="MENU-2", title="b", done=False, points=5),
        WorkItem(source="jira", external_id="MENU-3", title="c", done=True, points=None),
        WorkItem(source="github", external_id="o/r#4", title="d", done=True, points=8),  # contributes only
    ]
    ws.store.upsert_work_items(items)
    stored = {i.external_id: i for i in ws.store.work_items()}
    for key in ("MENU-1", "MENU-2", "MENU-3"):
        ws.store.link_work(stored[key].id, kr.id, "measures")
    ws.store.link_work(stored["o/r#4"].id, kr.id, "contributes")

    share = build_binding(kr.binding or {}).read(context(ws, kr))
    assert share.value == pytest.approx(200 / 3)  # 2 of the 3 measuring items are done
    assert share.snapshot["items"] == 3 and share.snapshot["done"] == 2
    assert share.snapshot["done_items"] == ["jira:MENU-1", "jira:MENU-3"]
    fraction = build_binding({"type": "work", "measure": "share_done", "scale": "fraction"}).read(context(ws, kr))
    assert fraction.value == pytest.approx(2 / 3)
    points = build_binding({"type": "work", "measure": "points_done"}).read(context(ws, kr))
    assert points.value == 3  # MENU-3 is done but has no points; the contributing PR is not counted
    assert points.snapshot["points_total"] == 8 and points.snapshot["done_without_points"] == 1


def test_work_without_measuring_items_is_an_error(ws: Workspace) -> None:
    kr = add_kr(ws, {"type": "work", "measure": "share_done"})
    with pytest.raises(BindingError, match="no work item measures") as none:
        build_binding(kr.binding or {}).read(context(ws, kr))
    assert "measures" in (none.value.hint or "")


# retention ---------------------------------------------------------------------------------------------------


def customers_db(ws: Workspace, *, start: int, new: int, end: int) -> None:
    conn = sqlite3.connect(ws.root / "crm.db")
    with conn:
        conn.execute("CREATE TABLE counts (name TEXT PRIMARY KEY, n INTEGER)")
        conn.executemany("INSERT INTO counts VALUES (?, ?)", [("start", start), ("new", new), ("end", end)])
    conn.close()


def count(name: str) -> dict[str, Any]:
    return {"type": "sql", "url": "sqlite:///crm.db", "query": f"SELECT n FROM counts WHERE name = '{name}'"}


RETENTION = {"type": "retention", "customers_end": count("end"), "new_customers": count("new"),
             "customers_start": count("start")}  # fmt: skip


def test_retention_computes_the_formula_and_keeps_its_inputs(ws: Workspace) -> None:
    customers_db(ws, start=1000, new=300, end=1200)
    kr = add_kr(ws, RETENTION)
    reading = build_binding(RETENTION).read(context(ws, kr))
    assert reading.value == pytest.approx((1200 - 300) / 1000 * 100)
    inputs = reading.snapshot["inputs"]
    assert {name: inputs[name]["value"] for name in inputs} == {"customers_end": 1200, "new_customers": 300,
                                                                 "customers_start": 1000}  # fmt: skip
    assert inputs["customers_start"]["snapshot"]["backend"] == "sqlite"
    assert "1200" in reading.snapshot["explained"]


def test_retention_names_the_input_that_failed(ws: Workspace) -> None:
    customers_db(ws, start=0, new=0, end=10)
    kr = add_kr(ws, RETENTION)
    with pytest.raises(BindingError) as undefined:
        build_binding(RETENTION).read(context(ws, kr))
    assert undefined.value.where == "binding.customers_start"
    broken = {**RETENTION, "new_customers": {**count("new"), "query": "SELECT n, name FROM counts"}}
    with pytest.raises(BindingError, match=r"retention input new_customers failed: .*2 columns"):
        build_binding(broken).read(context(ws, kr))
