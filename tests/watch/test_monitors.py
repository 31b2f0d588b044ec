"""Monitors in andon.yaml (file:line errors, did-you-mean) and one step of a monitor: ``for:``, no data,
the failure limit, shadow mode, cooldown, resume on recovery, and saved state that neither re-warms nor re-fires.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.watch.watch_support import write_yaml

from andon.config.loader import load_config
from andon.config.schema import WorkspaceConfig
from andon.errors import ConfigError
from andon.watch.detectors.base import Proportion
from andon.watch.monitors import Measurement, MonitorState, build_monitors, check_monitors, step

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
MENU = {"versions": {"v1": {"python": "watch_rules:decide"}}}

GOOD = """\
features:
  menu:
    versions:
      v1: {python: "watch_rules:decide"}
monitors:
  menu-rejects:
    feature: menu
    metric: label_share
    source: {path: decision, label: reject}
    interval: 1m
    window: 15m
    detector: {type: proportion, warmup: 2}
    min_calls: 50
    for: 2
    baseline: null
    actions: [stop, {type: webhook, url: "https://flags.example/api/flags/menu", flag: menu-ai}]
    cooldown: 30m
    resume: {when: on_recovery, for: 10m}
    runbook: https://wiki.example/menu
    owner: menu-team
  orders:
    feature: menu
    metric: orders_per_minute
    source: pushed
    detector: {type: robust-z}
    mode: shadow
    no_data: fail
"""


def test_a_good_config_loads_with_shorthands(tmp_path: Path) -> None:
    loaded = load_config(write_yaml(tmp_path, GOOD))
    monitors = check_monitors(loaded)
    rejects, orders = monitors["menu-rejects"], monitors["orders"]
    assert rejects.takes_counts and rejects.config.interval == 60 and rejects.config.window == 900
    assert [a.type for a in rejects.config.actions] == ["stop", "webhook"]
    assert rejects.config.resume.when == "on_recovery" and rejects.config.resume.for_ == "10m"
    assert orders.config.source.type == "pushed" and orders.pushed_name == "orders"
    assert [a.type for a in orders.config.actions] == ["stop"]  # the default action
    assert orders.config.mode == "shadow" and orders.config.no_data == "fail"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message", "hint"),
    [
        ("    window: 15m", "    windw: 15m", "windw", "unknown field 'windw'", "did you mean 'window'"),
        ("    for: 2", "    for: 0", "for: 0", "number of points", None),
        ("    cooldown: 30m", "    cooldown: soon", "cooldown", "not a duration", None),
        ("metric: label_share", "metric: reject_rate", "metric: reject_rate", "not a trace metric", None),
        (
            "resume: {when: on_recovery, for: 10m}",
            "resume: on_recovery",
            "resume: on_recovery",
            "needs its own `for:`",
            None,
        ),
        ("    source: pushed", "    source: {type: pushed, query: up}", "source: {type", "do(es) not apply", None),
    ],
)
def test_schema_errors_name_file_and_line(
    tmp_path: Path, old: str, new: str, needle: str, message: str, hint: str | None
) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f":{_line_of(text, needle)}:" in (caught.value.where or "")
    assert message in caught.value.message
    if hint is not None:
        assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("old", "new", "needle", "message", "hint"),
    [
        ("{type: proportion, warmup: 2}", "{type: proportoin}", "proportoin", "unknown detector type", None),
        ("    interval: 1m", "    interval: 500ms", "interval: 500ms", "too short", "1s or more"),
        (
            "{type: proportion, warmup: 2}",
            "{type: proportion, fail_pp: 0.1}",
            "fail_pp",
            "unknown setting 'fail_pp'",
            "did you mean 'fail_p'",
        ),
        ("{type: proportion, warmup: 2}", "{type: proportion, fail_p: 2}", "fail_p", "less than 1", None),
        ("{type: robust-z}", "{type: proportion}", "{type: proportion}", "not a share of traces", "numeric detector"),
        (
            "    feature: menu\n    metric: label_share",
            "    feature: meny\n    metric: label_share",
            "feature: meny",
            "'meny' is not in andon.yaml",
            "did you mean 'menu'",
        ),
    ],
)
def test_detector_and_reference_errors_name_file_and_line(
    tmp_path: Path, old: str, new: str, needle: str, message: str, hint: str | None
) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    path = write_yaml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        check_monitors(load_config(path))
    assert f"{path}:{_line_of(text, needle)}:" in (caught.value.where or "")
    assert message in caught.value.message
    if hint is not None:
        assert hint in (caught.value.hint or "")


def test_andon_check_rejects_a_bad_monitor_with_file_and_line(tmp_path: Path) -> None:
    text = GOOD.replace("{type: proportion, warmup: 2}", "{type: proportion, fail_pp: 0.1}")
    path = write_yaml(tmp_path, text)
    done = subprocess.run(
        [sys.executable, "-m", "andon", "--workspace", str(tmp_path), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{path}:{_line_of(text, 'fail_pp')}:" in done.stderr
    assert "did you mean 'fail_p'" in done.stderr
    assert "Traceback" not in done.stderr


# --- one step ------------------------------------------------------------------------------------------


def monitors(**monitor: Any) -> Any:
    spec = {
        "feature": "menu",
        "metric": "m",
        "source": "pushed",
        "interval": 60,
        "window": 60,
        "detector": {"type": "threshold", "fail_above": 10},
    } | monitor
    config = WorkspaceConfig.model_validate({"features": {"menu": MENU}, "monitors": {"x": spec}})
    return build_monitors(config)["x"]


def run(
    monitor: Any, values: list[Any], state: MonitorState | None = None, start: int = 0
) -> tuple[list[Any], MonitorState | None]:
    steps = []
    for i, value in enumerate(values, start):
        measured = value if isinstance(value, Measurement) else Measurement(value=value)
        result = step(monitor, state, T0 + timedelta(minutes=i), measured)
        state = result.state
        steps.append(result)
    return steps, state


def decisions(steps: list[Any]) -> list[str | None]:
    return [s.decision for s in steps]


def test_for_points_needs_that_many_failing_points_in_a_row() -> None:
    steps, _ = run(monitors(**{"for": 3}), [1, 20, 20, 1, 20, 20, 20, 20, 20])
    assert decisions(steps) == [None, None, None, None, None, None, "act", None, None]  # once per breach
    assert [s.status for s in steps][-3:] == ["breached"] * 3


def test_for_duration_counts_each_point_as_one_interval() -> None:
    steps, _ = run(monitors(**{"for": "3m"}), [20, 20, 20, 20])
    assert decisions(steps) == [None, None, "act", None]


def test_a_new_breach_after_recovery_acts_again_only_after_the_cooldown() -> None:
    monitor = monitors(cooldown="10m")
    steps, _ = run(monitor, [20, 1, 20, 1] + [1] * 8 + [20])
    assert decisions(steps) == ["act", None, "cooldown", None] + [None] * 8 + ["act"]
    assert steps[2].state.breach_key != steps[0].state.breach_key


def test_no_data_pauses_by_default_and_keeps_the_run() -> None:
    steps, _ = run(monitors(**{"for": 3}), [20, 20, None, None, 20])
    assert [s.point.state for s in steps] == ["fail", "fail", "paused", "paused", "fail"]
    assert decisions(steps) == [None, None, None, None, "act"]


def test_no_data_fail_counts_missing_windows_as_failing() -> None:
    steps, _ = run(monitors(**{"for": 2, "no_data": "fail"}), [1, None, None])
    assert [s.point.state for s in steps] == ["ok", "fail", "fail"]
    assert decisions(steps) == [None, None, "act"]


def test_min_calls_turns_a_thin_window_into_no_data() -> None:
    monitor = monitors(
        metric="error_rate", source={"type": "traces"}, min_calls=50, detector={"type": "threshold", "fail_above": 0.2}
    )
    thin = Measurement(value=0.5, counts=Proportion(4, 8), calls=8)
    full = Measurement(value=0.5, counts=Proportion(200, 400), calls=400)
    steps, _ = run(monitor, [thin, full])
    assert [s.point.state for s in steps] == ["paused", "fail"]
    assert "8 calls" in steps[0].point.reason


def test_source_errors_are_tolerated_up_to_the_failure_limit() -> None:
    down = Measurement(error="connection refused")
    steps, _ = run(monitors(failure_limit=2, no_data="fail"), [1, down, down, down, 1, down])
    assert [s.point.state for s in steps] == ["ok", "error", "error", "fail", "ok", "error"]
    assert decisions(steps) == [None, None, None, "act", None, None]


def test_shadow_mode_records_but_never_acts() -> None:
    steps, _ = run(monitors(mode="shadow"), [20, 20])
    assert decisions(steps) == ["shadow", None]
    assert steps[0].point.mode == "shadow"


def test_resume_on_recovery_after_its_own_for() -> None:
    monitor = monitors(resume={"when": "on_recovery", "for": 3})
    steps, _ = run(monitor, [20, 1, 1, 1, 1])
    assert decisions(steps) == ["act", None, None, "resume", None]
    manual, _ = run(monitors(), [20, 1, 1, 1, 1])
    assert decisions(manual) == ["act", None, None, None, None]  # resuming is a person's decision


def test_saved_state_goes_on_without_warming_up_or_firing_again() -> None:
    monitor = monitors(detector={"type": "robust-z", "warmup": 10, "baseline": {"season": None, "window": 10}})
    calm = [100.0 + (i % 3) for i in range(20)]
    straight, _ = run(monitor, [*calm, 500.0, 500.0, 100.0])
    first, saved = run(monitor, [*calm, 500.0])
    assert saved is not None
    reloaded = MonitorState.from_json(saved.to_json())  # through JSON, as the store keeps it
    second, _ = run(monitor, [500.0, 100.0], reloaded, start=len(calm) + 1)
    assert [s.point.state for s in first + second] == [s.point.state for s in straight]
    assert decisions(first + second) == decisions(straight)
    assert decisions(straight).count("act") == 1
    assert "warming up" not in second[0].point.reason


def test_changed_detector_settings_start_fresh() -> None:
    _, saved = run(monitors(), [20])
    steps, _ = run(monitors(detector={"type": "threshold", "fail_above": 30}), [20], saved, start=1)
    assert steps[0].point.state == "ok"
    assert steps[0].notes


@given(st.lists(st.one_of(st.none(), st.floats(0, 30)), min_size=1, max_size=40), st.integers(1, 5))
def test_at_most_one_act_per_failing_run(values: list[float | None], need: int) -> None:
    steps, _ = run(monitors(**{"for": need}, cooldown=1), values)
    runs_acted: dict[str | None, int] = {}
    for s in steps:
        if s.decision == "act":
            runs_acted[s.state.breach_key] = runs_acted.get(s.state.breach_key, 0) + 1
    assert all(count == 1 for count in runs_acted.values())


def test_a_fifteen_second_interval_loads(tmp_path: Path) -> None:
    text = GOOD.replace("    interval: 1m", "    interval: 15s", 1)
    assert check_monitors(load_config(write_yaml(tmp_path, text)))["menu-rejects"].config.interval == 15
