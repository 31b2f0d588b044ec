"""The importer registry: built-ins plus the ``andon.work_importers`` entry-point group, built from settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from andon.errors import ConfigError
from andon.extensions import WORK_IMPORTERS
from andon.messages import t
from andon.okr.work.base import ImportContext, WorkImporter
from andon.plugins import Registry

BUILTINS = {
    "jira": "andon.okr.work.jira:JiraImporter",
    "github": "andon.okr.work.github:GitHubImporter",
    "csv": "andon.okr.work.csvfile:CsvImporter",
}
REGISTRY = Registry(WORK_IMPORTERS.group, WORK_IMPORTERS.kind, BUILTINS)


def importer_class(kind: str, *, where: str) -> type[WorkImporter]:
    """The importer class registered as ``kind`` (built-in or plugin); anything else is a ConfigError at ``where``."""
    factory: Any = REGISTRY.load(kind, where=where)
    if not (isinstance(factory, type) and issubclass(factory, WorkImporter)):
        raise ConfigError(t("okr_work.file.not_importer", kind=kind), where=where)
    return factory


def build_importer(
    options: Mapping[str, Any], context: ImportContext | None = None, *, where: str = "importer"
) -> WorkImporter:
    """The importer ``options["type"]`` names, its options checked by its own ``Settings`` model."""
    kind = options.get("type")
    if not isinstance(kind, str):
        hint = t("okr_work.file.types_hint", names=", ".join(REGISTRY.names()))
        raise ConfigError(t("okr_work.file.no_type"), where=where, hint=hint)
    factory = importer_class(kind, where=f"{where}.type")
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
