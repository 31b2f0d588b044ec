"""The workspace's lookups: a feature by name, versions without writes, one-step versions; feedback and dot paths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.json_values import MissingPath, lookup, parse_number, split_path
from andon.config.schema import Params, Step, VersionSpec
from andon.errors import ConfigError, NotFoundError
from andon.evals.build import feature_for_run
from andon.evals.plan import plan_run
from andon.evals.runner import run_evaluation
from andon.starter import write_starter
from andon.store import Store
from andon.store.records import RunRecord, TraceRecord, new_id
from andon.versions.canonical import build_version
from andon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Any:
    write_starter(tmp_path, "shop")
    with Workspace.open(tmp_path, database_url=database_url) as workspace:
        yield workspace


def count_registrations(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    ids: list[str] = []
    real = ws.store.register_version

    def register(feature: str, name: str, version_id: str, content: dict[str, Any]) -> Any:
        ids.append(version_id)
        return real(feature, name, version_id, content)

    monkeypatch.setattr(ws.store, "register_version", register)
    return ids


def test_looking_up_versions_writes_nothing_and_sync_registers_them(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = count_registrations(ws, monkeypatch)
    last = ws.version("listing-check")
    assert ws.version("listing-check", "v1").name == "v1" and last.name == "v2"
    ws.declared_versions("listing-check")
    assert written == []
    synced = ws.sync_versions("listing-check")
    assert written == [v.id for v in synced]
    assert ws.store.get_version("listing-check", last.id).name == "v2"


async def test_a_run_registers_the_versions_it_records(ws: Workspace) -> None:
    plan = plan_run(ws, "listing-check", versions=["v2"])
    await run_evaluation(ws, plan.feature, plan.versions, plan.dataset, repeats=1)
    stored = ws.store.get_version("listing-check", plan.versions[0].id)
    assert stored.content == plan.versions[0].content


def test_an_unknown_feature_names_the_known_ones(ws: Workspace) -> None:
    assert ws.feature("listing-check") is ws.config.features["listing-check"]
    with pytest.raises(NotFoundError) as info:
        ws.feature("listing")
    assert info.value.message == "no feature 'listing' in andon.yaml"
    assert info.value.hint == "known features: listing-check, listing-title"


def test_a_one_step_version_is_the_same_version_as_its_step_written_inline(ws: Workspace) -> None:
    fields: dict[str, Any] = {"provider": "local", "system": "s", "prompt": "{{ prompt }}"}
    params = Params(temperature=0, max_tokens=16)
    built = ws.one_step_version("cache-judge", "local", Step(**fields, params=params))
    inline = build_version("cache-judge", "local", VersionSpec(**fields, params=params), ws.config)
    assert (built.id, built.content) == (inline.id, inline.content)


# --- feedback -----------------------------------------------------------------------------------------------


def trace(feature: str = "menu") -> TraceRecord:
    return TraceRecord(
        id=new_id("trc"),
        feature=feature,
        route="ai",
        status="ok",
        input_mode="redacted",
        input={},
        input_hash="0" * 64,
        created_at=datetime.now(UTC),
        version_id="v" * 64,
        version_name="v1",
        output_text="ok",
    )


@pytest.mark.parametrize(
    ("values", "match"),
    [({"thumbs": 5}, "thumbs"), ({}, "needs"), ({"score": float("nan")}, "finite"), ({"comment": "  "}, "needs")],
)
def test_feedback_is_checked_where_it_is_stored(store: Store, values: dict[str, Any], match: str) -> None:
    record = trace()
    store.save_traces([record])
    with pytest.raises(ConfigError, match=match):
        store.add_feedback(record.id, **values)
    assert store.list_feedback(record.id) == []


# --- a run recorded before grader settings were typed ------------------------------------------------------

FLAT = {"name": None, "value": None, "path": None, "tolerance": None, "threshold": None, "weight": 1.0}
FLAT |= {"judge": None, "model": None, "rubric": None, "function": None, "min_kappa": None, "options": {}}


def test_a_run_recorded_with_every_flat_grader_field_still_rebuilds_its_feature() -> None:
    graders = [
        FLAT | {"type": "label", "path": "decision", "options": {"labels": ["approve", "reject"]}},
        FLAT | {"type": "not-is-json"},
        FLAT | {"type": "equals", "value": "x", "threshold": 0.5},  # once accepted, and ignored
    ]
    run = RunRecord(
        id="run_1", feature="f", status="finished", created_at=datetime.now(UTC), finished_at=None, dataset="d",
        dataset_sha256="0", repeats=1, currency="USD", versions=[], n_cases=0,
        config={"graders": graders, "pass_threshold": 1.0, "criteria": [], "strict": False, "alpha": 0.05},
    )  # fmt: skip
    feature = feature_for_run(run, None)
    assert [g.label for g in feature.graders] == ["label:decision", "not-is-json", "equals"]


# --- dot paths and numbers ----------------------------------------------------------------------------------

segment = st.text(alphabet="abcxyz_가나", min_size=1, max_size=5)


@given(st.lists(segment, min_size=1, max_size=5), st.integers())
def test_a_dot_path_reaches_the_value_it_was_built_from(keys: list[str], leaf: int) -> None:
    data: Any = leaf
    for key in reversed(keys):
        data = {key: data}
    parts = split_path(".".join(keys), "path")
    assert parts == tuple(keys) and lookup(data, parts) == leaf
    with pytest.raises(MissingPath):
        lookup(data, (*parts, "deeper"))


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_numbers_read_with_thousands_commas(number: int) -> None:
    assert parse_number(f"{number:,}") == number and parse_number(f" {number} ") == number
    assert parse_number(f"{number:,}원") is None and parse_number(number != 0) is None
