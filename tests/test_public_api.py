"""The public surface: ``andon.__all__`` is exactly the user's nouns, each resolves, and ``import andon`` stays cheap.

Also the error tree in :mod:`andon.errors`' docstring: every ``AndonError`` subclass in the package, under its base.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import andon
import andon.errors

SRC = Path(__file__).resolve().parents[1] / "src"

EXPECTED = [
    "__version__",
    # using andon from Python
    "Workspace", "Version", "Dataset", "RunReport", "evaluate", "aevaluate",
    # calling a running gateway
    "Client", "AsyncClient", "InvokeResult", "ReviewDecision",
    # errors a user catches
    "AndonError", "ConfigError", "WorkspaceError", "NotFoundError", "StoreError", "ProviderError",
    "ProviderTimeout", "MalformedReply", "ModelIntegrityError", "TemplateError",
    "APIError", "APIConnectionError", "AuthenticationError", "ConflictError", "InvalidRequestError",
    "PermissionDeniedError", "ProviderUnavailableError", "RateLimitError", "ResourceNotFoundError", "ServerError",
]  # fmt: skip

# Importing andon must not pull these in: the CLI starts with `import andon`, and so does every user.
HEAVY = ["httpx", "sqlalchemy", "pydantic", "andon.client", "andon.workspace", "andon.store", "andon.evals"]


def test_all_is_exactly_the_public_surface() -> None:
    assert len(andon.__all__) == len(set(andon.__all__))
    assert sorted(andon.__all__) == sorted(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_every_public_name_resolves_and_is_listed_by_dir(name: str) -> None:
    value = getattr(andon, name)
    assert value is not None and name in dir(andon)
    if name != "__version__":
        module = sys.modules[value.__module__]
        assert getattr(module, name) is value  # the object itself, not a copy


def test_every_exported_error_is_an_andon_error_and_the_typed_imports_match() -> None:
    errors = [name for name in EXPECTED if name.endswith("Error") or name in ("ProviderTimeout", "MalformedReply")]
    assert all(issubclass(getattr(andon, name), andon.AndonError) for name in errors)
    # mypy reads the names from the `if TYPE_CHECKING:` imports; the lazy table must say the same.
    tree = ast.parse((SRC / "andon" / "__init__.py").read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    typed = {a.name: n.module for n in guarded.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert typed == andon._LAZY


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        andon.no_such_thing  # type: ignore[attr-defined]  # noqa: B018


def test_import_andon_loads_nothing_heavy_and_star_import_works() -> None:
    probe = (
        "import json, sys\n"
        "import andon\n"
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "from andon import *\n"
        "print(json.dumps({'loaded': loaded, 'client': Client.__name__}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC)}
    )
    assert json.loads(done.stdout) == {"loaded": [], "client": "Client"}


def _error_classes() -> dict[str, tuple[str, str]]:
    """Every AndonError subclass defined in the package: name → (module, base), read from the source."""
    defined: list[tuple[str, str, list[str]]] = []
    for path in sorted((SRC / "andon").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
                defined.append((module, node.name, bases))
    found: dict[str, tuple[str, str]] = {}
    grew = True
    while grew:
        grew = False
        for module, name, bases in defined:
            base = next((b for b in bases if b == "AndonError" or b in found), None)
            if base is not None and name not in found and name != "AndonError":
                found[name] = (module, base)
                grew = True
    return found


def _tree() -> dict[str, tuple[str, str]]:
    """The docstring's tree: name → (module, parent), by indentation."""
    doc = andon.errors.__doc__ or ""
    lines = [line for line in doc.splitlines() if line.startswith("    ")]  # the indented block
    parents: list[tuple[int, str]] = []
    tree: dict[str, tuple[str, str]] = {}
    for line in lines:
        words = line.replace("├──", " ").replace("└──", " ").replace("│", " ")
        name = words.split()[0]
        depth = len(words) - len(words.lstrip())
        rest = words.split()[1:]
        module = rest[0] if rest and rest[0].startswith("andon.") else "andon.errors"
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            tree[name] = (module, parents[-1][1])
        parents.append((depth, name))
    return tree


def test_the_error_tree_lists_every_andon_error_under_its_base() -> None:
    tree, found = _tree(), _error_classes()
    assert len(found) > 20  # the scan sees the package
    missing = sorted(set(found) - set(tree))
    assert not missing, f"add these to the tree in andon/errors.py's docstring: {missing}"
    wrong = {name: (tree[name], where) for name, where in found.items() if tree[name] != where}
    assert not wrong, f"listed under the wrong base or module (listed, defined): {wrong}"
    assert set(tree) <= set(found), f"listed but not defined: {sorted(set(tree) - set(found))}"
