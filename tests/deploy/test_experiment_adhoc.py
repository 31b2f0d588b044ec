"""Experiments set on the command line (`andon experiment start FEATURE A B --metric … --split …`): the flags
become the same settings an `experiments:` entry has, bad ones are errors naming the flag; three arms are
judged each against the control at alpha / 2. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.rollouts import promote_stable, write_rollout_workspace

from andon.deploy.experiment import (
    OutcomeIn,
    adhoc_config,
    adhoc_name,
    arm_index,
    look,
    record_events,
    start_experiment,
)
from andon.errors import ConfigError
from andon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    write_rollout_workspace(tmp_path, [{"weight": 20, "calls": 25}])
    path = tmp_path / "andon.yaml"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["features"]["menu"]["experiments"] = {}  # nothing declared: the flags alone say what to run
    path.write_text(json.dumps(config), encoding="utf-8")
    promote_stable(tmp_path, database_url)
    opened = Workspace.open(tmp_path, database_url=database_url)
    yield opened
    opened.store.close()


def test_the_flags_become_the_settings_of_an_experiments_entry() -> None:
    config = adhoc_config(["v1", "v2"], metric="value:revenue", split="30/70", guardrails=["error_rate,latency_ms"],
                          unit="session", alpha=0.01, min_samples=50, max_samples=4000)  # fmt: skip
    assert [(a.version, a.weight) for a in config.arms] == [("v1", 30.0), ("v2", 70.0)]
    assert (config.metric.metric, config.metric.event_name, config.metric.direction) == ("value", "revenue", "higher")
    assert [g.metric for g in config.guardrails] == ["error_rate", "latency_ms"]
    assert (config.unit, config.alpha, config.min_samples, config.max_samples) == ("session", 0.01, 50, 4000)
    plain = adhoc_config(["v1", "v2", "v3"], metric="conversion")
    assert sum(a.weight for a in plain.arms) == pytest.approx(100) and len({a.weight for a in plain.arms}) == 1
    assert (plain.unit, plain.alpha, plain.min_samples) == ("user", 0.05, 100)  # an entry's defaults
    assert adhoc_name(["v1", "v2"]) == "v1-vs-v2"


@pytest.mark.parametrize(
    ("versions", "options", "flag", "words"),
    [
        (["v1"], {"metric": "conversion"}, "VERSIONS", "two or more versions"),
        (["v1", "v2"], {"metric": None}, "--metric", "needs --metric"),
        (["v1", "v2"], {"metric": "clicks"}, "--metric", "unknown experiment metric 'clicks'"),
        (["v1", "v2"], {"metric": "conversion", "guardrails": ["latency"]}, "--guardrail", "'latency'"),
        (["v1", "v2"], {"metric": "conversion", "split": "50/40"}, "--split", "add up to 90"),
        (["v1", "v2"], {"metric": "conversion", "split": "50/25/25"}, "--split", "3 shares for 2 versions"),
        (["v1", "v2"], {"metric": "conversion", "split": "half/half"}, "--split", "not percents"),
        (["v1", "v1"], {"metric": "conversion"}, "VERSIONS", "in two arms"),
        (["v1", "v2"], {"metric": "conversion", "unit": "account"}, "--unit", "user, session, tenant"),
        (["v1", "v2"], {"metric": "conversion", "alpha": 0.7}, "--alpha", "less than 0.5"),
        (["v1", "v2"], {"metric": "conversion", "guardrails": ["conversion"]}, "--guardrail", "listed twice"),
        (["v1", "v2"], {"metric": "latency_ms:slow"}, "--metric", "only conversion and value"),
        (["v1", "v2"], {"metric": "conversion", "min_samples": 100, "max_samples": 150}, "--max-samples", "below"),
    ],
)  # fmt: skip
def test_a_bad_flag_is_an_error_naming_it(versions: list[str], options: dict[str, Any], flag: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        adhoc_config(versions, **options)
    assert caught.value.where == flag and words in caught.value.message, str(caught.value)


def test_an_unknown_version_is_named_and_nothing_starts(ws: Workspace) -> None:
    with pytest.raises(ConfigError) as caught:
        start_experiment(ws, "menu", "v1-vs-v9", settings=adhoc_config(["v1", "v9"], metric="conversion"))
    assert caught.value.where == "VERSIONS" and "v9" in str(caught.value)
    assert ws.store.active_experiment("menu") is None


def test_three_arms_split_evenly_and_the_best_arm_wins(ws: Workspace) -> None:
    settings = adhoc_config(["v1", "v2", "v3"], metric="conversion", min_samples=60)
    record = start_experiment(ws, "menu", adhoc_name(["v1", "v2", "v3"]), settings=settings, actor="tests")
    assert [a["version_name"] for a in record.settings["arms"]] == ["v1", "v2", "v3"] and record.settings["adhoc"]
    units = [f"u{i}" for i in range(9000)]
    arms = [arm_index(record, unit) for unit in units]
    for index in range(3):  # a third each, within a 4-sigma binomial interval of 9,000 units
        assert abs(arms.count(index) - 3000) < 4 * (9000 * (1 / 3) * (2 / 3)) ** 0.5
    # 600 units: C's convert one in two, A's and B's one in ten (by the unit's number, so it is repeatable); the
    # others push a 0, which makes them part of the experiment without calls through a gateway.
    outcomes = [OutcomeIn("conversion", 1.0 if i % 10 < (5 if arms[i] == 2 else 1) else 0.0, unit=unit)
                for i, unit in enumerate(units[:600])]  # fmt: skip
    record_events(ws, record.id, outcomes)
    seen = look(ws, record)
    assert set(seen.results["conversion"]) == {"B", "C"}  # each treatment arm against the control
    assert seen.units == {label: arms[:600].count(index) for index, label in enumerate("ABC")}  # outcomes, no calls
    assert seen.decision is not None and seen.decision["outcome"] == "decided"
    assert (seen.decision["arm"], seen.decision["winner"]) == ("C", "C")
    assert seen.decision["p_value"] <= 0.05 / 2  # Bonferroni over the two treatment arms
    assert seen.results["conversion"]["B"]["p_value"] > 0.05 / 2
    assert seen.record.status == "decided"
