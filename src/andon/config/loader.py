"""Load andon.yaml with line numbers kept, interpolate ``${ENV}``, and validate against the schema."""

from __future__ import annotations

import difflib
import os
from collections import abc
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import is_typeddict

from andon.config.criteria import check_flip_names
from andon.config.flow import flow_problems
from andon.config.graders import BUILTIN_SETTINGS, GraderSettings, GraderSpec, settings_model
from andon.config.graders import PLUGIN_TAG as GRADER_PLUGIN_TAG
from andon.config.graders import REGISTRY as GRADERS
from andon.config.graders import TAG_PREFIX as GRADER_TAG
from andon.config.problems import InvalidConfig, Problem
from andon.config.providers import BUILTIN_CONFIGS, ProviderConfig, options_model
from andon.config.providers import PLUGIN_TAG as PROVIDER_PLUGIN_TAG
from andon.config.providers import REGISTRY as PROVIDERS
from andon.config.providers import TAG_PREFIX as PROVIDER_TAG
from andon.config.schema import FeatureConfig, WorkspaceConfig
from andon.config.tools import TAG_PREFIX as TOOL_TAG
from andon.config.tools import McpTools, ToolSpec
from andon.config.yaml_source import Loc, SourceMap, dotted, interpolate, read_yaml
from andon.errors import ConfigError
from andon.messages import t

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
        raise ConfigError(t("house2.load.missing", path=path), hint=t("house2.load.missing_hint")) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(t("house2.load.not_utf8", reason=exc.reason, start=exc.start), where=str(path)) from None
    data, source, problems = read_yaml(text, path, env)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(t("house2.load.top_level"), where=f"{path}:1:1")
    return RawConfig(path=path, data=data, source=source, problems=problems)


def config_problems(raw: RawConfig) -> tuple[WorkspaceConfig | None, list[Problem]]:
    """The config as far as the schema validates it (None when it does not), and every problem found.

    Plugin types are loaded and checked, and cross-references followed, only once the schema holds.
    """
    problems = list(raw.problems)
    try:
        config = WorkspaceConfig.model_validate(raw.data)
    except ValidationError as exc:
        return None, [*problems, *schema_problems(exc, raw.source)]
    features, found = plugin_grader_problems(config.features, raw.source)
    problems.extend(found)
    problems.extend(plugin_provider_problems(config.providers, raw.source))
    config = config.model_copy(update={"features": features})
    problems.extend(reference_problems(config.features, config.providers, raw.source))
    return config, problems


def validate_config(raw: RawConfig) -> LoadedConfig:
    """Validate parsed andon.yaml against the schema and its cross-references, reporting every problem."""
    config, problems = config_problems(raw)
    if problems:
        hint = t("house2.load.schema_hint")
        raise InvalidConfig(problems, path=str(raw.path), default_hint=hint)
    assert config is not None
    return LoadedConfig(config=config, path=raw.path, source=raw.source)


def reference_problems(
    features: Mapping[str, FeatureConfig], providers: Collection[str], source: SourceMap
) -> list[Problem]:
    """Every step names a provider that exists (checked here so the error can point at the line)."""
    known = ", ".join(sorted(providers)) or t("house2.none")
    problems: list[Problem] = []
    for fname, feature in features.items():
        for vname, version in feature.versions.items():
            base: Loc = ("features", fname, "versions", vname)
            steps = enumerate(version.normalized_steps())
            named: list[tuple[Loc, str | None]] = [
                (("steps", i) if version.steps else (), s.provider) for i, s in steps
            ]
            if version.agents is not None:  # a flow: each agent names its provider
                problems.extend(flow_problems(version.agents, version.entry, base, source))
                named = [(("agents", name), agent.provider) for name, agent in version.agents.items()]
            for at, provider in named:
                if provider is None or provider in providers:
                    continue
                loc = (*base, *at, "provider")
                close = difflib.get_close_matches(provider, list(providers), n=1)
                fix = (
                    t("house2.load.did_you_mean", name=close[0])
                    if close
                    else t("house2.load.add_provider", known=known)
                )
                message = t("house2.load.no_provider", provider=provider, known=known)
                problems.append(Problem(where=source.where(loc), field=dotted(loc), message=message, hint=fix))
        problems.extend(flip_problems(fname, feature, source))
    return problems


def flip_problems(fname: str, feature: FeatureConfig, source: SourceMap) -> list[Problem]:
    """``flip_rate[NAME]`` criteria naming a perturbation the feature's ``robustness:`` does not run, at their line."""
    names = [p.type for p in feature.robustness.perturbations] if feature.robustness else []
    problems = []
    for index, text in enumerate(feature.criteria):
        try:
            check_flip_names([text], names)
        except ValueError as exc:
            loc: Loc = ("features", fname, "criteria", index)
            problems.append(_at(source, loc, str(exc), t("evalfin.criteria.flip_hint")))
    return problems


def plugin_grader_problems(
    features: Mapping[str, FeatureConfig], source: SourceMap
) -> tuple[dict[str, FeatureConfig], list[Problem]]:
    """Plugin graders checked against the settings their class declares (loaded now), and unknown types.

    Returns the features with each plugin grader replaced by its validated settings.
    """
    problems: list[Problem] = []
    out: dict[str, FeatureConfig] = {}
    for fname, feature in features.items():
        graders: list[GraderSettings] = []
        for index, spec in enumerate(feature.graders):
            loc: Loc = ("features", fname, "graders", index)
            if type(spec) is GraderSpec:
                checked, found = _plugin_grader(spec, loc, source)
                problems.extend(found)
                spec = checked or spec
            graders.append(spec)
        out[fname] = feature.model_copy(update={"graders": graders})
    return out, problems


def _plugin_grader(spec: GraderSpec, loc: Loc, source: SourceMap) -> tuple[GraderSettings | None, list[Problem]]:
    type_loc: Loc = (*loc, "type")
    known = GRADERS.names()
    if spec.base_type not in known:
        prefix = "not-" if spec.negated else ""
        close = difflib.get_close_matches(spec.base_type, known, n=1)
        hint = (
            t("check.did_you_mean", name=prefix + close[0])
            if close
            else t("check.grader_known_hint", known=", ".join(known))
        )
        return None, [_at(source, type_loc, t("check.grader_unknown", type=spec.type), hint)]
    try:
        model = settings_model(GRADERS.load(spec.base_type, where=dotted(type_loc)))
    except ConfigError as exc:
        return None, [_at(source, type_loc, exc.message, exc.hint)]
    try:
        return model.model_validate(spec.model_dump(exclude_unset=True)), []
    except ValidationError as exc:
        return None, schema_problems(exc, source, prefix=loc, model=model)


def plugin_provider_problems(providers: Mapping[str, ProviderConfig], source: SourceMap) -> list[Problem]:
    """Plugin providers' ``options`` checked against the ``Options`` their class declares (loaded now)."""
    problems: list[Problem] = []
    for name, config in providers.items():
        if type(config) is not ProviderConfig:
            continue  # a built-in type, already checked by the schema
        type_loc: Loc = ("providers", name, "type")
        try:
            model = options_model(PROVIDERS.load(config.type, where=dotted(type_loc)))
        except ConfigError as exc:
            problems.append(_at(source, type_loc, exc.message, exc.hint))
            continue
        if model is None:
            continue
        try:
            TypeAdapter(model).validate_python(dict(config.options))
        except ValidationError as exc:
            problems.extend(schema_problems(exc, source, prefix=("providers", name, "options"), model=model))
    return problems


def _at(source: SourceMap, loc: Loc, message: str, hint: str | None) -> Problem:
    return Problem(where=source.where(loc), field=dotted(loc), message=message, hint=hint)


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


def schema_problems(exc: ValidationError, source: SourceMap, *, prefix: Loc = (), model: Any = None) -> list[Problem]:
    """Pydantic's errors as problems naming file:line:col and the field, each with a fix-it hint.

    ``prefix`` is where in the file the validated value sits, and ``model`` what validated it (default: the
    whole andon.yaml); the segments a tagged union adds to an error's location are left out.
    """
    root = WorkspaceConfig if model is None else model
    problems: list[Problem] = []
    for error in exc.errors():
        raw = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        loc = (*prefix, *(p for p in raw if not _is_tag(p)))
        message = error["msg"].removeprefix("Value error, ")
        hint: str | None = None
        if error["type"] == "extra_forbidden":
            options = _fields_at(raw[:-1], root)
            close = difflib.get_close_matches(str(loc[-1]), options, n=1)
            message = t("house2.load.unknown_field", field=loc[-1])
            hint = (
                t("house2.load.did_you_mean", name=close[0])
                if close
                else t("house2.load.allowed", options=", ".join(options))
            )
        elif error["type"] == "missing":
            hint = t("house2.load.add_field", field=loc[-1], under=dotted(loc[:-1]))
        elif error["type"] == "string_pattern_mismatch" and ("features" in loc or "providers" in loc):
            hint = t("house2.load.names")
        problems.append(Problem(where=source.where(loc), field=dotted(loc), message=message, hint=hint))
    return problems


def _is_tag(part: str | int) -> bool:
    return isinstance(part, str) and part.startswith((GRADER_TAG, PROVIDER_TAG, TOOL_TAG))


def _fields_at(loc: Loc, root: Any) -> list[str]:
    """Field names the model allows at ``loc`` (for 'did you mean' hints); a union's tag picks its member."""
    node: Any = root
    for part in loc:
        if isinstance(part, str) and part.startswith(GRADER_TAG) and part != GRADER_PLUGIN_TAG:
            node = BUILTIN_SETTINGS.get(part.removeprefix(GRADER_TAG))
        elif isinstance(part, str) and part.startswith(PROVIDER_TAG) and part != PROVIDER_PLUGIN_TAG:
            node = BUILTIN_CONFIGS.get(part.removeprefix(PROVIDER_TAG))
        elif isinstance(part, str) and part.startswith(TOOL_TAG):
            node = McpTools if part == f"{TOOL_TAG}mcp" else ToolSpec
        elif not _is_tag(part):
            node = _child(_unwrap(node), part)
        if node is None:
            return []
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        # A base chosen by `type` in a validator (notifiers): its subclasses' fields are allowed here too.
        fields = set(node.model_fields)
        stack = list(node.__subclasses__())
        while stack:
            sub = stack.pop()
            fields.update(sub.model_fields)
            stack.extend(sub.__subclasses__())
        return sorted(fields)
    if is_typeddict(node):
        return sorted(node.__annotations__)
    return []


def _unwrap(node: Any) -> Any:
    """An annotation without ``Annotated`` and ``None``: the model, TypedDict or container it names."""
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
            continue
        if get_origin(node) in (Union, UnionType):
            members = [a for a in get_args(node) if a is not type(None)]
            if len(members) == 1:
                node = members[0]
                continue
        return node


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, type) and issubclass(node, BaseModel):
        field = node.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if is_typeddict(node):
        return get_type_hints(node, include_extras=True).get(str(part))
    origin, args = get_origin(node), get_args(node)
    if origin in (list, tuple) and isinstance(part, int) and args:
        return args[0]
    if origin in (dict, Mapping, abc.Mapping) and len(args) == 2:
        return args[1]
    return None


def find_config(start: Path | None = None) -> Path:
    """The andon.yaml for ``start`` (or ``ANDON_WORKSPACE``), searching parent folders like git does."""
    base = Path(os.environ.get("ANDON_WORKSPACE") or start or Path.cwd()).resolve()
    for folder in (base, *base.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    raise ConfigError(t("house2.load.not_found", file=CONFIG_FILE, base=base), hint=t("house2.load.not_found_hint"))
