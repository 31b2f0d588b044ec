"""The floors of ARCHITECTURE.md: no import runs upward and no two modules form a cycle.

Every import counts, including those under ``TYPE_CHECKING`` and inside functions: a lazy import is
still a dependency, and a cycle through one is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Floor of each top-level part of the package, lowest first (ARCHITECTURE.md, "Package layout").
FLOORS: dict[str, int] = {
    "errors": 1, "messages": 1, "plugins": 1, "starter": 1, "_version": 1, "extensions": 1,
    "config": 2, "store": 2, "vectors": 2,
    "providers": 3, "embeddings": 3,
    "versions": 4,
    "engine": 5,
    "workspace": 6, "citation": 6,
    "evals": 7, "review": 7, "deploy": 7, "watch": 7, "okr": 7, "knowledge": 7, "agents": 7, "demo": 7,
    "gateway": 8, "web": 8,
    "cli": 9, "client": 9, "__init__": 9, "__main__": 9,
}  # fmt: skip

# Imports that run against the floors today and are being moved (issue 7): this list only shrinks.
KNOWN_DEBTS: set[tuple[str, str]] = set()
KNOWN_CYCLES: list[list[str]] = []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / "andon").rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every andon module ``name`` imports (resolved to a module that exists)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("andon") and target != name:
                yield target
                break


def _floor(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    if top not in FLOORS:
        pytest.fail(f"{module}: its part {top!r} has no floor; add it to FLOORS and to ARCHITECTURE.md")
    return FLOORS[top]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: set(_imports(name, path, known)) for name, path in modules.items()}


def test_no_import_runs_up_a_floor() -> None:
    upward = sorted(
        (module, target)
        for module, targets in _graph().items()
        for target in targets
        if _floor(target) > _floor(module) and (module, target) not in KNOWN_DEBTS
    )
    assert not upward, "imports running up a floor:\n" + "\n".join(f"  {a} -> {b}" for a, b in upward)


def test_no_two_modules_form_a_cycle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 and sorted(component) not in KNOWN_CYCLES:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in cycles)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    path = tmp_path / "probe.py"
    path.write_text("from andon.gateway.app import create_app\nfrom .records import X\n", encoding="utf-8")
    found = set(_imports("andon.store.probe", path, {"andon.gateway.app", "andon.store.records", "andon.gateway"}))
    assert found == {"andon.gateway.app", "andon.store.records"}
    assert _floor("andon.gateway.app") > _floor("andon.store.probe")
