"""A work file: the importers to run (built-in or plugin types, each with its own typed settings) and the link
rules to apply, in YAML; every mistake is reported at its file:line, all of them at once.

    importers:
      menu-jira: {type: jira, url: https://acme.atlassian.net, email: pm@acme.example, jql: project = MENU,
                  token_env: JIRA_API_TOKEN, points_field: customfield_10016}
      app: {type: github, repo: acme/menu-app}
      sheet: {type: csv, path: work.csv}          # relative to this file
    rules:
      - {label: "KR-2026Q4-*", kind: measures}
      - {keyword: checkout, key_result: KR-2026Q4-2}

Tokens are never written here: ``token_env`` names the environment variable that holds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from andon.config.loader import schema_problems
from andon.config.problems import InvalidConfig, Problem
from andon.config.yaml_source import SourceMap, read_yaml
from andon.errors import ConfigError
from andon.messages import t
from andon.okr.work.base import ImportContext, WorkImporter
from andon.okr.work.importing import ImportResult, import_work
from andon.okr.work.links import LinkRule, RuleReport, apply_rules
from andon.okr.work.registry import REGISTRY, importer_class
from andon.store import Store


class WorkFile(BaseModel):
    """The file's shape; each importer's own settings are checked by its type's ``Settings``."""

    model_config = ConfigDict(extra="forbid")

    importers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[LinkRule] = Field(default_factory=list)


@dataclass(frozen=True)
class WorkSetup:
    """A loaded work file: importers by name, in file order, and the rules."""

    importers: dict[str, WorkImporter]
    rules: list[LinkRule]


def load_work_file(path: Path, context: ImportContext | None = None) -> WorkSetup:
    """The importers and rules of a work file; every problem (file:line, field, hint) raised together."""
    data, source = _read(path)
    try:
        shape = WorkFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidConfig(schema_problems(exc, source, model=WorkFile), path=str(path)) from None
    problems: list[Problem] = []
    importers: dict[str, WorkImporter] = {}
    for name, options in shape.importers.items():
        importer = _importer(name, options, path, source, context, problems)
        if importer is not None:
            importers[name] = importer
    if problems:
        raise InvalidConfig(problems, path=str(path))
    return WorkSetup(importers, shape.rules)


def load_rules(path: Path) -> list[LinkRule]:
    """Only the rules of a work file (a file of ``rules:`` alone is a work file too)."""
    data, source = _read(path)
    try:
        return WorkFile.model_validate(data).rules
    except ValidationError as exc:
        raise InvalidConfig(schema_problems(exc, source, model=WorkFile), path=str(path)) from None


async def run_work_file(
    store: Store, setup: WorkSetup, only: Sequence[str] = ()
) -> tuple[dict[str, ImportResult], RuleReport]:
    """Run the importers (all, or those named in ``only``) one after another, then apply the rules once."""
    unknown = [name for name in only if name not in setup.importers]
    if unknown:
        raise ConfigError(
            t("okr_work.file.unknown_importer", names=", ".join(unknown)),
            hint=t("okr_work.file.known_importers", names=", ".join(setup.importers) or "-"),
        )
    results = {
        name: await import_work(store, importer)
        for name, importer in setup.importers.items()
        if not only or name in only
    }
    return results, apply_rules(store, setup.rules) if setup.rules else RuleReport()


def _read(path: Path) -> tuple[Any, SourceMap]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(t("okr_work.rule.unreadable", error=exc.strerror or str(exc)), where=str(path)) from None
    data, source, problems = read_yaml(text, path, None)
    if problems:
        raise InvalidConfig(problems, path=str(path))
    return ({} if data is None else data), source


def _importer(
    name: str, options: dict[str, Any], path: Path, source: SourceMap, context: ImportContext | None,
    problems: list[Problem],
) -> WorkImporter | None:  # fmt: skip
    loc = ("importers", name)
    kind = options.get("type")
    if not isinstance(kind, str):
        problems.append(Problem(source.where(loc), f"importers.{name}.type", t("okr_work.file.no_type"),
                                t("okr_work.file.types_hint", names=", ".join(REGISTRY.names()))))  # fmt: skip
        return None
    try:
        factory = importer_class(kind, where=source.where((*loc, "type")))
    except ConfigError as exc:
        problems.append(Problem(exc.where or str(path), f"importers.{name}.type", exc.message, exc.hint))
        return None
    values = dict(options)
    if isinstance(values.get("path"), str) and not Path(values["path"]).is_absolute():
        values["path"] = str(path.parent / values["path"])  # files sit beside the work file that names them
    try:
        settings = factory.Settings.model_validate(values)
    except ValidationError as exc:
        problems.extend(schema_problems(exc, source, prefix=loc, model=factory.Settings))
        return None
    importer: WorkImporter = factory(settings, context)
    return importer
