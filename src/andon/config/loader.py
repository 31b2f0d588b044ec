"""Load andon.yaml with line numbers kept, interpolate ``${ENV}``, and validate against the schema."""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from andon.config.problems import InvalidConfig, Problem
from andon.config.schema import FeatureConfig, WorkspaceConfig
from andon.config.yaml_source import Loc, SourceMap, dotted, interpolate, read_yaml
from andon.errors import ConfigError

CONFIG_FILE = "andon.yaml"


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from."""

    config: WorkspaceConfig
    path: Path
    source: SourceMap | None = None

    @property
    def workspace(self) -> Path:
        """The folder holding andon.yaml."""
        return self.path.parent


def load_config(path: Path, environ: dict[str, str] | None = None) -> LoadedConfig:
    """Read, interpolate and validate ``path``; every error names file:line:column and the field.

    Several problems raise one :class:`InvalidConfig` listing them all.
    """
    return validate_config(read_config(path, environ))


@dataclass(frozen=True)
class RawConfig:
    """andon.yaml parsed but not validated: its data, where each value sits, and problems found so far."""

    path: Path
    data: dict[str, Any]
    source: SourceMap
    problems: list[Problem]


def read_config(path: Path, environ: dict[str, str] | None = None) -> RawConfig:
    """Parse ``path`` with ``${ENV}`` interpolated; a file that cannot be parsed at all raises ConfigError."""
    env = dict(os.environ) if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", hint="run `andon init` to create a workspace here") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path)) from None
    data, source, problems = read_yaml(text, path, env)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping (name: value pairs)", where=f"{path}:1:1")
    return RawConfig(path=path, data=data, source=source, problems=problems)


def validate_config(raw: RawConfig) -> LoadedConfig:
    """Validate parsed andon.yaml against the schema and its cross-references, reporting every problem."""
    problems = list(raw.problems)
    config: WorkspaceConfig | None = None
    try:
        config = WorkspaceConfig.model_validate(raw.data)
    except ValidationError as exc:
        problems.extend(schema_problems(exc, raw.source))
    if config is not None:
        problems.extend(reference_problems(config.features, config.providers, raw.source))
    if problems:
        hint = "see `andon schema` for every field and its type"
        raise InvalidConfig(problems, path=str(raw.path), default_hint=hint)
    assert config is not None
    return LoadedConfig(config=config, path=raw.path, source=raw.source)


def reference_problems(
    features: Mapping[str, FeatureConfig], providers: Collection[str], source: SourceMap
) -> list[Problem]:
    """Every step names a provider that exists (checked here so the error can point at the line)."""
    known = ", ".join(sorted(providers)) or "none"
    problems: list[Problem] = []
    for fname, feature in features.items():
        for vname, version in feature.versions.items():
            for index, step in enumerate(version.normalized_steps()):
                if step.provider is None or step.provider in providers:
                    continue
                base: Loc = ("features", fname, "versions", vname)
                loc = (*base, "steps", index, "provider") if version.steps else (*base, "provider")
                close = difflib.get_close_matches(step.provider, list(providers), n=1)
                fix = f"did you mean {close[0]!r}?" if close else f"add it under `providers:` or use one of: {known}"
                problems.append(
                    Problem(
                        where=source.where(loc),
                        field=dotted(loc),
                        message=f"provider {step.provider!r} is not defined (known: {known})",
                        hint=fix,
                    )
                )
    return problems


def parse_yaml(text: str, path: Path, env: dict[str, str]) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse YAML into plain data with ``${ENV}`` interpolated, plus a map of each value's 1-based position."""
    data, source, problems = read_yaml(text, path, env)
    if problems:
        raise InvalidConfig(problems, path=str(path))
    return data, source.keys


def _interpolate(value: str, loc: Loc, positions: dict[Loc, tuple[int, int]], path: Path, env: dict[str, str]) -> str:
    """One string interpolated; a missing variable raises (kept for callers that interpolate a lone value)."""
    found: list[Problem] = []
    out = interpolate(value, loc, SourceMap(path=path, keys={(): (1, 1), **positions}), env, found)
    if found:
        raise InvalidConfig(found, path=str(path))
    return out


def schema_problems(exc: ValidationError, source: SourceMap) -> list[Problem]:
    """Pydantic's errors as problems naming file:line:col and the field, each with a fix-it hint."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = error["msg"].removeprefix("Value error, ")
        hint: str | None = None
        if error["type"] == "extra_forbidden":
            options = _fields_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), options, n=1)
            message = f"unknown field {loc[-1]!r}"
            hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(options)}"
        elif error["type"] == "missing":
            hint = f"add `{loc[-1]}:` under {dotted(loc[:-1])}"
        elif (error["type"] == "string_pattern_mismatch" and "features" in loc) or "providers" in loc:
            hint = "names use lower-case letters, digits, '-', '_' and '.', e.g. menu-review"
        problems.append(Problem(where=source.where(loc), field=dotted(loc), message=message, hint=hint))
    return problems


def _fields_at(loc: Loc) -> list[str]:
    """Field names the schema allows at ``loc`` (for 'did you mean' hints)."""
    schema = WorkspaceConfig.model_json_schema()
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = defs[node["$ref"].split("/")[-1]]
        for alt in node.get("anyOf", []):
            alt = resolve(alt)
            if "properties" in alt or "items" in alt or "additionalProperties" in alt:
                return alt
        return node

    node = resolve(schema)
    for part in loc:
        if isinstance(part, int) and "items" in node:
            node = resolve(node["items"])
        elif isinstance(part, str) and part in node.get("properties", {}):
            node = resolve(node["properties"][part])
        elif isinstance(node.get("additionalProperties"), dict):
            node = resolve(node["additionalProperties"])
        elif node.get("patternProperties"):
            node = resolve(next(iter(node["patternProperties"].values())))
        else:
            return []
    return sorted(node.get("properties", {}))


def find_config(start: Path | None = None) -> Path:
    """The andon.yaml for ``start`` (or ``ANDON_WORKSPACE``), searching parent folders like git does."""
    base = Path(os.environ.get("ANDON_WORKSPACE") or start or Path.cwd()).resolve()
    for folder in (base, *base.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_FILE} in {base} or its parent folders",
        hint="run `andon init` to create a workspace, or pass --workspace PATH",
    )
