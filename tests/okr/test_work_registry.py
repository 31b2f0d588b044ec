"""The importer extension point: built-ins by name, a plugin importer from an installed package's entry point
(typed settings checked, its items stored like any other), unknown or broken types as clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from andon.errors import ConfigError
from andon.extensions import WORK_IMPORTERS
from andon.okr.work import REGISTRY, build_importer, import_work
from andon.okr.work.csvfile import CsvImporter
from andon.store import Store

SHEET = """
    from typing import ClassVar, Literal

    from andon.okr.work.base import ImportBatch, ImporterSettings, WorkImporter
    from andon.store.okr import WorkItem

    class SheetSettings(ImporterSettings):
        type: Literal["sheet"] = "sheet"
        rows: int = 2

    class SheetImporter(WorkImporter):
        type_name = "sheet"
        source: ClassVar[str] = "sheet"
        Settings = SheetSettings

        @property
        def cursor_name(self):
            return "sheet:demo"

        async def fetch(self, cursor):
            seen = (cursor or {}).get("rows", 0)
            rows = range(1, self.settings.rows + 1)
            items = [WorkItem(source="sheet", external_id=f"S-{n}", title=f"row {n}") for n in rows]
            return ImportBatch(items, {"rows": len(items)}, unchanged=seen == len(items))

    class NotAnImporter:
        pass
"""


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: str) -> None:
    """A real installed distribution (dist-info on sys.path) with entry points in ``andon.work_importers``."""
    name = "andon_test_sheet_importer"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(SHEET), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    dist = tmp_path / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{WORK_IMPORTERS.group}]\n{entries.format(module=name)}\n")


def test_builtins_resolve_by_name_and_an_unknown_type_lists_the_known_ones(tmp_path: Path) -> None:
    assert {"jira", "github", "csv"} <= set(REGISTRY.names())
    assert isinstance(build_importer({"type": "csv", "path": str(tmp_path / "w.csv")}), CsvImporter)
    with pytest.raises(ConfigError) as unknown:
        build_importer({"type": "trello"}, where="import")
    assert "csv, github, jira" in unknown.value.message and unknown.value.where == "import.type"
    with pytest.raises(ConfigError) as typo:
        build_importer({"type": "github", "repo": "acme/menu-app", "pagesize": 3}, where="import")
    assert typo.value.where == "import.pagesize"


async def test_a_plugin_importer_is_built_from_its_entry_point_and_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store
) -> None:
    install(tmp_path, monkeypatch, "sheet = {module}:SheetImporter\njira = {module}:SheetImporter")
    assert "sheet" in REGISTRY.names()
    importer = build_importer({"type": "sheet", "rows": 3})
    assert importer.settings.model_dump()["rows"] == 3
    first = await import_work(store, importer)
    assert (first.inserted, first.unchanged) == (3, False)
    again = await import_work(store, importer)
    assert again.unchanged and len(store.work_items("sheet")) == 3
    # A plugin cannot take over a built-in name.
    assert type(build_importer({"type": "jira", "url": "https://x", "email": "a@b.c"})).__name__ == "JiraImporter"
    with pytest.raises(ConfigError) as bad:
        build_importer({"type": "sheet", "rows": "many"})
    assert bad.value.where == "importer.rows"


def test_a_plugin_that_is_no_importer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, "odd = {module}:NotAnImporter")
    with pytest.raises(ConfigError, match="not a WorkImporter"):
        build_importer({"type": "odd"})
