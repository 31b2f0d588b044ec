"""One module lists every extension point: each listed target resolves, and every registry is on the list."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

from andon.extensions import EXTENSION_POINTS, ExtensionPoint
from andon.plugins import Registry

SRC = Path(__file__).resolve().parents[1] / "src"
READY = [p for p in EXTENSION_POINTS if p.status == "ready"]


def _resolve(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _exists(target: str) -> bool:
    try:
        return importlib.util.find_spec(target.partition(":")[0]) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def test_the_list_names_each_extension_point_of_the_architecture_once() -> None:
    kinds = [p.kind for p in EXTENSION_POINTS]
    groups = [p.group for p in EXTENSION_POINTS]
    assert len(set(kinds)) == len(kinds) and len(set(groups)) == len(groups)
    assert set(kinds) == {
        "provider", "grader", "detector", "notifier", "chunker", "work-item importer", "key-result binding", "tool",
        "perturbation", "step kind", "executor",
    }  # fmt: skip
    assert all(g.startswith("andon.") for g in groups)


@pytest.mark.parametrize("point", READY, ids=lambda p: p.kind)
def test_a_ready_point_resolves_and_its_registry_uses_its_group(point: ExtensionPoint) -> None:
    assert point.interface and point.settings and point.registry
    assert isinstance(_resolve(point.interface), type) and isinstance(_resolve(point.settings), type)
    registry = _resolve(point.registry)
    assert isinstance(registry, Registry)
    assert (registry.group, registry.kind) == (point.group, point.kind)


@pytest.mark.parametrize("point", [p for p in EXTENSION_POINTS if p.status != "ready"], ids=lambda p: p.kind)
def test_a_point_not_ready_is_not_built_here_yet(point: ExtensionPoint) -> None:
    targets = [t for t in (point.interface, point.settings, point.registry) if t]
    if point.status == "planned":
        assert not targets
    built = [t for t in targets if _exists(t) and not t.startswith("andon.config.")]
    assert not built, f"{point.kind}: {built} exist now; set its status to 'ready' in andon/extensions.py"


def test_every_registry_in_the_package_is_on_the_list() -> None:
    listed = {p.registry.partition(":")[0] for p in EXTENSION_POINTS if p.registry}
    defining = set()
    for path in sorted((SRC / "andon").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = getattr(node, "value", None)
            if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "Registry":
                parts = path.relative_to(SRC).with_suffix("").parts
                defining.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))  # a package's own
    assert defining, "the scan sees the registries"
    assert defining <= listed, f"registries missing from andon/extensions.py: {sorted(defining - listed)}"
