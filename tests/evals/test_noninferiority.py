"""Not worse than live: parsing ``accuracy >= live - 0.02``, decisions at the boundary, Holm over several criteria."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from andon.config.criteria import parse_criterion
from andon.config.loader import load_config
from andon.deploy.criteria import criteria_record, criteria_sha256
from andon.errors import AndonError
from andon.evals.model import Case, CellResult
from andon.evals.noninferiority import judge_noninferiority, paired_bound
from andon.evals.stats import newcombe_paired_interval


def _cells(version: str, outcomes: list[bool], tags: list[str] | None = None) -> list[CellResult]:
    return [
        CellResult(
            run_id="r", version_id=version, version_name=version, case_id=f"c{i}", repeat=0, output_id=None,
            status="ok", score=1.0 if ok else 0.0, passed=ok, latency_ms=100.0 + i,
            expected_label="yes", predicted_label="yes" if ok else "no",
        )
        for i, ok in enumerate(outcomes)
    ]  # fmt: skip


def _pairs(both: int, broken: int, fixed: int, neither: int) -> tuple[list[CellResult], list[CellResult]]:
    live = [True] * both + [True] * broken + [False] * fixed + [False] * neither
    new = [True] * both + [False] * broken + [True] * fixed + [False] * neither
    return _cells("live", live), _cells("new", new)


def _cases(n: int, hard: int = 0) -> list[Case]:
    return [Case(id=f"c{i}", vars={}, label="yes", tags=("hard",) if i < hard else ()) for i in range(n)]


def test_live_criteria_parse_with_their_margin() -> None:
    c = parse_criterion("accuracy >= live - 0.02")
    assert (c.metric, c.op, c.threshold, c.baseline) == ("accuracy", ">=", -0.02, "live")
    assert parse_criterion("pass_rate > live - 2%").threshold == pytest.approx(-0.02)
    assert parse_criterion("p95_latency_ms <= live + 0.2 s").threshold == pytest.approx(200.0)
    assert parse_criterion("accuracy >= live").threshold == 0.0
    sliced = parse_criterion("accuracy[tag=hard] >= live - 0.05")
    assert (sliced.slice_key, sliced.slice_value, sliced.key) == ("tag", "hard", "accuracy[tag=hard]")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("accuracy <= live - 0.02", "written with >=, >"),
        ("p95_latency_ms >= live", "written with <=, <"),
        ("macro_f1 >= live - 0.02", "cannot be compared with live"),
        ("accuracy >= live - 20 ms", "a margin in ms or s is for latency"),
        ("accuracy[reject] >= live", "brackets name a slice only"),
    ],
)
def test_bad_live_criteria_say_how_to_write_them(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_criterion(text)


def test_a_bad_live_criterion_in_andon_yaml_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: t
            features:
              f:
                versions: {v: {python: "m:f"}}
                criteria:
                  - accuracy >= 0.9
                  - accuracy <= live - 0.02
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(AndonError) as refused:
        load_config(tmp_path / "andon.yaml")
    shown = str(refused.value)
    # Each criterion is checked on its own, so the place is the bad criterion's own line.
    assert "andon.yaml:7:9" in shown and "'accuracy <= live - 0.02'" in shown and "written with >=, >" in shown


def test_the_live_margin_changes_the_criteria_hash() -> None:
    def sha(text: str) -> str:
        return criteria_sha256(criteria_record([text], False))

    assert sha("accuracy >= live - 0.02") != sha("accuracy >= -0.02")
    assert sha("accuracy >= live - 2%") == sha("accuracy>=live-0.02")


def test_non_inferiority_is_decided_at_the_boundary_of_the_lower_bound() -> None:
    live, new = _pairs(80, 4, 2, 14)
    _, low, _ = newcombe_paired_interval(80, 4, 2, 14, 0.95)
    margin = -low  # the lower bound sits exactly on the margin
    cases = _cases(100)
    at = judge_noninferiority([parse_criterion(f"accuracy >= live - {margin!r}")], "v1", live, new, cases)[0]
    assert at.passed and at.judged_value == low and at.judged_on == "lower bound" and at.value == pytest.approx(-0.02)
    strict = judge_noninferiority([parse_criterion(f"accuracy > live - {margin!r}")], "v1", live, new, cases)[0]
    assert not strict.passed
    tighter = margin * (1 - 1e-9)
    below = judge_noninferiority([parse_criterion(f"accuracy >= live - {tighter!r}")], "v1", live, new, cases)[0]
    assert not below.passed and "100 shared cases" in (below.note or "")


def test_a_worse_version_fails_and_an_equal_one_passes_with_enough_cases() -> None:
    cases = _cases(400)
    worse_live, worse = _pairs(300, 40, 4, 56)  # 9 points worse
    same_live, same = _pairs(380, 2, 2, 16)
    criterion = [parse_criterion("pass_rate >= live - 0.02")]
    assert not judge_noninferiority(criterion, "v1", worse_live, worse, cases)[0].passed
    assert judge_noninferiority(criterion, "v1", same_live, same, cases)[0].passed


def test_latency_against_live_is_judged_on_the_upper_bound() -> None:
    live, new = _pairs(50, 0, 0, 0)
    slower = [dataclasses.replace(c, latency_ms=c.latency_ms + 500) for c in new]
    cases = _cases(50)
    ok = judge_noninferiority([parse_criterion("p95_latency_ms <= live + 600 ms")], "v1", live, slower, cases)[0]
    late = judge_noninferiority([parse_criterion("p95_latency_ms <= live + 400 ms")], "v1", live, slower, cases)[0]
    assert ok.passed and ok.judged_on == "upper bound" and ok.value == pytest.approx(500)
    assert not late.passed


def test_holm_judges_several_criteria_at_tighter_levels() -> None:
    # Alone, each holds at 95%. As two, the one with the stronger evidence is judged at 97.5%; here both are
    # equally close to the margin, the first fails at 97.5%, and Holm's step-down claims neither.
    live, new = _pairs(80, 4, 2, 14)
    cases = _cases(100, hard=100)
    _, low95, _ = newcombe_paired_interval(80, 4, 2, 14, 0.95)
    _, low975, _ = newcombe_paired_interval(80, 4, 2, 14, 0.975)
    margin = (-low95 + -low975) / 2  # between the two bounds
    accuracy = parse_criterion(f"accuracy >= live - {margin!r}")
    pass_rate = parse_criterion(f"pass_rate[tag=hard] >= live - {margin!r}")
    assert judge_noninferiority([accuracy], "v1", live, new, cases)[0].passed
    assert judge_noninferiority([pass_rate], "v1", live, new, cases)[0].passed
    results = judge_noninferiority([accuracy, pass_rate], "v1", live, new, cases)
    assert [r.passed for r in results] == [False, False]
    assert all("Holm over 2 criteria" in (r.note or "") for r in results)
    assert any("Holm step-down" in (r.note or "") for r in results)
    # A criterion with ample room keeps holding beside one that fails at its own (last, 95%) level.
    roomy = parse_criterion("pass_rate[tag=hard] >= live - 0.5")
    tight = parse_criterion(f"accuracy >= live - {-low95 * 0.9!r}")
    assert [r.passed for r in judge_noninferiority([tight, roomy], "v1", live, new, cases)] == [False, True]


def test_a_slice_with_no_shared_case_is_not_measured() -> None:
    live, new = _pairs(10, 0, 0, 0)
    result = judge_noninferiority([parse_criterion("accuracy[tag=rare] >= live")], "v1", live, new, _cases(10))[0]
    assert not result.passed and result.value is None and "no case measured" in (result.note or "")
    assert paired_bound("accuracy", live, new, set())[1] is None
