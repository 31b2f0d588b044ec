"""andon.yaml's guard steps (issue 15): the settings, shorthands, and errors that name file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.errors import ConfigError
from andon.messages import set_language

BASE = (
    "providers:\n  p: {type: python}\nfeatures:\n  f:\n    versions:\n      v1:\n        steps:\n"
    "          - name: main\n            python: m:f\n"
)


def _load(tmp_path: Path, guard: str) -> Path:
    path = tmp_path / "andon.yaml"
    text = BASE.replace("        steps:\n", "        steps:\n          - name: safety\n" + guard)
    path.write_text(text, encoding="utf-8")
    return path


def test_shorthand_actions_and_defaults(tmp_path: Path) -> None:
    guard = "            guard:\n              checks: {crisis: route, injection: block, pii: {kinds: [rrn]}}\n"
    step = load_config(_load(tmp_path, guard)).config.features["f"].versions["v1"].steps[0]  # type: ignore[index]
    assert step.kind == "guard" and step.guard is not None
    assert step.guard.on == "input" and step.guard.priority == 100 and step.guard.notify is None
    assert {k: c.action for k, c in step.guard.checks.items()} == {"crisis": "route", "injection": "block",
                                                                    "pii": "flag"}  # fmt: skip
    assert step.guard.checks["pii"].kinds == ["rrn"]


@pytest.mark.parametrize(
    ("guard", "where", "field", "words"),
    [
        ("            guard:\n              checks: {crisis: stop}\n", ":10:", "checks.crisis.action", "block"),
        ("            guard:\n              checks: {sadness: block}\n", ":10:", "guard.checks", "sadness"),
        ("            guard:\n              checks: {pii: {kinds: [names]}}\n", ":10:", "kinds", "names"),
        ("            guard:\n              checks: {classifier: block}\n", ":10:", "guard.checks", "provider"),
        (
            "            guard:\n              checks: {crisis: {action: flag, kinds: [rrn]}}\n",
            ":10:",
            "guard.checks",
            "pii",
        ),
        (
            "            guard:\n              on: output\n              checks: {crisis: flag}\n",
            ":7:",
            "steps",
            "first step",
        ),
        ("            prompt: hi\n            guard: {checks: {crisis: flag}}\n", ":8:", "steps[0]", "prompt"),
    ],
)
def test_bad_guards_name_the_line_and_field(tmp_path: Path, guard: str, where: str, field: str, words: str) -> None:
    path = _load(tmp_path, guard)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}{where}" in text and field in text and words in text, text


def test_errors_read_in_korean(tmp_path: Path) -> None:
    path = _load(tmp_path, "            guard:\n              checks: {}\n")
    set_language("ko")
    try:
        with pytest.raises(ConfigError) as info:
            load_config(path)
    finally:
        set_language(None)
    assert "가드에는 검사가 하나 이상 있어야 합니다" in str(info.value) and f"{path}:10:" in str(info.value)


def test_an_unknown_classifier_provider_names_the_check(tmp_path: Path) -> None:
    from andon.workspace import Workspace

    guard = "            guard:\n              checks: {classifier: {provider: nobody}}\n"
    _load(tmp_path, guard)
    with Workspace.open(tmp_path) as ws, pytest.raises(ConfigError) as info:
        ws.version("f", "v1")
    assert "features.f.versions.v1.steps.safety.guard.checks.classifier" in str(info.value)
    assert "nobody" in str(info.value)
