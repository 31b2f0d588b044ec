"""Load andon.yaml with line numbers kept, interpolate ``${ENV}``, and validate against the schema."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from andon.config.schema import WorkspaceConfig
from andon.errors import ConfigError

CONFIG_FILE = "andon.yaml"
_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from."""

    config: WorkspaceConfig
    path: Path

    @property
    def workspace(self) -> Path:
        """The folder holding andon.yaml."""
        return self.path.parent


def load_config(path: Path, environ: dict[str, str] | None = None) -> LoadedConfig:
    """Read, interpolate and validate ``path``; every error names file:line:column and the field."""
    env = dict(os.environ) if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist", hint="run `andon init` to create a workspace here") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=str(path)) from None
    data, positions = parse_yaml(text, path, env)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping (name: value pairs)", where=f"{path}:1:1")
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, path, positions) from None
    _check_references(config, path, positions)
    return LoadedConfig(config=config, path=path)


def _check_references(config: WorkspaceConfig, path: Path, positions: dict[Loc, tuple[int, int]]) -> None:
    """Every step names a provider that exists (checked here so the error can point at the line)."""
    known = ", ".join(sorted(config.providers)) or "none"
    for fname, feature in config.features.items():
        for vname, version in feature.versions.items():
            for index, step in enumerate(version.normalized_steps()):
                if step.provider is None or step.provider in config.providers:
                    continue
                base: Loc = ("features", fname, "versions", vname)
                loc = (*base, "steps", index, "provider") if version.steps else (*base, "provider")
                line, col = positions[_nearest(loc, positions)]
                raise ConfigError(
                    f"{_dotted(loc)}: provider {step.provider!r} is not defined (known: {known})",
                    where=f"{path}:{line}:{col}",
                    hint=f"add it under `providers:` or use one of: {known}",
                )


def parse_yaml(text: str, path: Path, env: dict[str, str]) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Parse YAML into plain data with ``${ENV}`` interpolated, plus a map of each value's 1-based position."""
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(
            f"YAML syntax error: {problem}",
            where=where,
            hint="check indentation, colons and quotes on that line",
        ) from None
    positions: dict[Loc, tuple[int, int]] = {(): (1, 1)}
    return _plain(root, (), positions, path, env), positions


def _plain(node: Any, loc: Loc, positions: dict[Loc, tuple[int, int]], path: Path, env: dict[str, str]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            line, col = node.lc.key(key)  # the key's line is what a reader looks for
            child = (*loc, str(key))
            positions[child] = (line + 1, col + 1)
            out[str(key)] = _plain(value, child, positions, path, env)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            child = (*loc, index)
            positions[child] = (line + 1, col + 1)
            items.append(_plain(value, child, positions, path, env))
        return items
    if isinstance(node, str):
        return _interpolate(str(node), loc, positions, path, env)
    return node


def _interpolate(value: str, loc: Loc, positions: dict[Loc, tuple[int, int]], path: Path, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        line, col = positions.get(loc, (1, 1))
        raise ConfigError(
            f"environment variable {name} is not set (needed by {_dotted(loc)})",
            where=f"{path}:{line}:{col}",
            hint=f"export {name}=… before running, or write ${{{name}:-default}} in andon.yaml",
        )

    return _ENV_REF.sub(replace, value)


def _dotted(loc: Loc) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "(top level)"


def _explain(exc: ValidationError, path: Path, positions: dict[Loc, tuple[int, int]]) -> ConfigError:
    """Turn Pydantic's errors into one message naming file:line:col and field, with a fix-it hint."""
    lines: list[str] = []
    first_where: str | None = None
    first_hint: str | None = None
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        known = _nearest(loc, positions)
        line, col = positions[known]
        where = f"{path}:{line}:{col}"
        field = _dotted(loc)
        message = error["msg"].removeprefix("Value error, ")
        hint: str | None = None
        if error["type"] == "extra_forbidden":
            options = _fields_at(loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), options, n=1)
            message = f"unknown field {loc[-1]!r}"
            hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(options)}"
        elif error["type"] == "missing":
            hint = f"add `{loc[-1]}:` under {_dotted(loc[:-1])}"
        elif (error["type"] == "string_pattern_mismatch" and "features" in loc) or "providers" in loc:
            hint = "names use lower-case letters, digits, '-', '_' and '.', e.g. menu-review"
        lines.append(f"{where}: {field}: {message}")
        if first_where is None:
            first_where, first_hint = where, hint
    summary = lines[0].split(": ", 1)[1] if len(lines) == 1 else "\n  " + "\n  ".join(lines)
    return ConfigError(
        f"invalid configuration: {summary}",
        where=first_where if len(lines) == 1 else str(path),
        hint=first_hint or "see `andon schema` for every field and its type",
    )


def _nearest(loc: Loc, positions: dict[Loc, tuple[int, int]]) -> Loc:
    for size in range(len(loc), -1, -1):
        if loc[:size] in positions:
            return loc[:size]
    return ()


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
