"""The importer registry: built-ins plus the ``andon.work_importers`` entry-point group, built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from andon.errors import ConfigError
from andon.extensions import WORK_IMPORTERS
from andon.okr.work.base import ImportContext, WorkImporter
from andon.plugins import Registry

BUILTINS = {
    "jira": "andon.okr.work.jira:JiraImporter",
    "github": "andon.okr.work.github:GitHubImporter",
    "csv": "andon.okr.work.csvfile:CsvImporter",
}
REGISTRY = Registry(WORK_IMPORTERS.group, WORK_IMPORTERS.kind, BUILTINS)


def build_importer(
    options: Mapping[str, Any], context: ImportContext | None = None, *, where: str = "importer"
) -> WorkImporter:
    """The importer ``options["type"]`` names, its options checked by its own ``Settings`` model."""
    kind = options.get("type")
    if not isinstance(kind, str):
        raise ConfigError("an importer needs a `type`", where=where, hint=f"one of: {', '.join(REGISTRY.names())}")
    factory: Any = REGISTRY.load(kind, where=f"{where}.type")
    if not (isinstance(factory, type) and issubclass(factory, WorkImporter)):
        raise ConfigError(f"importer type {kind!r} is not a WorkImporter", where=f"{where}.type")
    try:
        settings = factory.Settings.model_validate(dict(options))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            str(first["msg"]).removeprefix("Value error, "), where=f"{where}.{field}" if field else where,
            hint=f"see the settings of the {kind!r} importer",
        ) from None  # fmt: skip
    return factory(settings, context)
