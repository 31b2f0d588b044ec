"""``andon check``: every problem a run would meet that can be found without calling a model, all at once.

Schema and references first (from the loader), then per feature: the dataset, graders and judges, every
template against the dataset's variables, and the names ``serve:`` refers to. Each problem names
file:line:column, the dotted field, and a fix.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from andon.config.graders import LlmRubricSettings
from andon.config.loader import (
    RawConfig,
    config_problems,
    plugin_grader_problems,
    plugin_provider_problems,
    read_config,
    reference_problems,
)
from andon.config.problems import Problem
from andon.config.schema import FeatureConfig, GraderSettings, ProviderConfig, VersionSpec, WorkspaceConfig
from andon.config.tools import McpTools, ToolEntry
from andon.config.yaml_source import Loc, SourceMap, dotted
from andon.errors import ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.graders import build_grader
from andon.evals.graders.registry import known_types
from andon.evals.graders.values import has_template
from andon.evals.model import Case
from andon.evals.template_check import TemplateScope, check_template
from andon.messages import t
from andon.versions.canonical import build_version
from andon.watch.monitors import build_monitors

DATASET_SUFFIXES = (".yaml", ".yml", ".jsonl", ".csv")
GRADER_NAMES = ("vars", "expected", "label", "tags", "case_id")  # what template_scope adds to a case's vars
STEP_NAMES = ("steps",)  # earlier steps' outputs, in every step's scope
FALLBACKS = ("queue", "off")
_VERSION_ID = re.compile(r"[0-9a-f]{6,64}")
_MAX_LISTED_FILES = 5000
_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "venv"})
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class CheckReport:
    """What ``andon check`` found: every problem, and the id of each version that could be built."""

    path: Path
    problems: list[Problem]
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    config: WorkspaceConfig | None = None

    @property
    def valid(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


@dataclass(frozen=True)
class _Context:
    """What every feature's checks share."""

    root: Path
    source: SourceMap
    providers: Collection[str]  # provider names, valid or not (a broken one is reported once, by the schema)
    versions: Mapping[str, list[str]]  # feature -> declared version names (for FEATURE:VERSION judges)
    config: WorkspaceConfig | None  # None when the workspace as a whole does not validate


def check_workspace(path: Path, environ: dict[str, str] | None = None) -> CheckReport:
    """Check the andon.yaml at ``path`` and everything it names; never raises for a problem in them."""
    root = str(path.parent)
    if root not in sys.path:
        # As Workspace.open does: rule checks live in the workspace, and their source is part of the version id.
        sys.path.insert(0, root)
    try:
        raw = read_config(path, environ)
    except ConfigError as exc:  # unreadable as a whole: nothing further can be checked
        return CheckReport(path, [Problem(exc.where or str(path), "", exc.message, exc.hint)])
    config, problems = config_problems(raw)
    schema_held = config is not None
    if problems:
        config = None
    if config is None:
        features, providers = _valid_parts(raw)
        names = list(raw.data["providers"]) if isinstance(raw.data.get("providers"), dict) else []
        if not schema_held:  # the loader checks plugin types only once the whole file validates
            features, found = plugin_grader_problems(features, raw.source)
            problems.extend(found)
            problems.extend(plugin_provider_problems(providers, raw.source))
        problems.extend(reference_problems(features, names, raw.source))
        config = _salvage(providers, features)
    else:
        features, names = dict(config.features), list(config.providers)
    ctx = _Context(
        root=path.parent,
        source=raw.source,
        providers=names,
        versions={name: list(feature.versions) for name, feature in features.items()},
        config=config,
    )
    versions: dict[str, dict[str, str]] = {}
    for name, feature in features.items():
        found, versions[name] = _check_feature(name, feature, ctx)
        problems.extend(found)
    if not problems and config is not None:
        problems.extend(_monitor_problems(config, path))
    return CheckReport(path, _in_file_order(_distinct(problems), path), versions, config if not problems else None)


def _distinct(problems: list[Problem]) -> list[Problem]:
    """Each problem once: the loader, the reference check and a version build may each find the same one; the
    most specific place stays (a handoff's own line rather than its version's)."""
    kept: list[Problem] = []
    for problem in problems:
        if any(p.message == problem.message and _within(p.field, problem.field) for p in kept):
            continue
        kept = [p for p in kept if not (p.message == problem.message and _within(problem.field, p.field))]
        kept.append(problem)
    return kept


def _within(inner: str, outer: str) -> bool:
    """Whether dotted field ``inner`` is ``outer`` or lies inside it."""
    return inner == outer or inner.startswith(outer + ".") or inner.startswith(outer + "[")


def _monitor_problems(config: WorkspaceConfig, path: Path) -> list[Problem]:
    """Monitors checked as the watcher builds them (detector settings, features, metrics), at file:line."""
    try:
        build_monitors(config, path=path)
    except ConfigError as exc:
        return [Problem(exc.where or str(path), "", exc.message, exc.hint)]
    return []


def _valid_parts(raw: RawConfig) -> tuple[dict[str, FeatureConfig], dict[str, ProviderConfig]]:
    """The features and providers that validate on their own, so one broken part hides no other problem."""
    return _valid(raw.data.get("features"), FeatureConfig), _valid(raw.data.get("providers"), ProviderConfig)


def _valid(section: Any, model: type[M]) -> dict[str, M]:
    if not isinstance(section, dict):
        return {}
    out: dict[str, M] = {}
    for name, value in section.items():
        try:
            out[str(name)] = model.model_validate(value)
        except ValidationError:
            continue  # already reported by the whole-file validation
    return out


def _salvage(providers: dict[str, ProviderConfig], features: dict[str, FeatureConfig]) -> WorkspaceConfig | None:
    """A config of the valid parts alone, enough to build versions; None if even that does not validate."""
    try:
        return WorkspaceConfig(providers=providers, features=features)
    except ValidationError:
        return None


def _check_feature(name: str, feature: FeatureConfig, ctx: _Context) -> tuple[list[Problem], dict[str, str]]:
    base: Loc = ("features", name)
    problems: list[Problem] = []
    cases, dataset_label, dataset_problems = _dataset(feature, (*base, "dataset"), ctx)
    problems.extend(dataset_problems)
    for index, grader in enumerate(feature.graders):
        problems.extend(_grader(grader, (*base, "graders", index), cases, dataset_label, ctx))
    ids: dict[str, str] = {}
    for vname, spec in feature.versions.items():
        vloc: Loc = (*base, "versions", vname)
        problems.extend(_version(spec, vloc, TemplateScope(cases, STEP_NAMES, dataset_label), ctx))
        if ctx.config is not None:
            try:
                ids[vname] = build_version(name, vname, spec, ctx.config).short_id
            except ConfigError as exc:
                problems.append(_problem(ctx, vloc, exc.message, exc.hint))
    problems.extend(_serve(feature, base, ctx))
    return problems, ids


def _version(spec: VersionSpec, loc: Loc, scope: TemplateScope, ctx: _Context) -> Iterator[Problem]:
    """Each step's templates against the cases, and its image variables (a flow: each agent's templates)."""
    if spec.agents is not None:
        for name, agent in spec.agents.items():
            for part, text in (("instructions", agent.instructions), ("prompt", agent.prompt)):
                if text is not None:
                    yield from check_template(text, (*loc, "agents", name, part), scope, ctx.source)
            yield from _mcp_commands(agent.tools, (*loc, "agents", name, "tools"), ctx)
        return
    for index, step in enumerate(spec.normalized_steps()):
        step_loc: Loc = (*loc, "steps", index) if spec.steps else loc
        for part in ("system", "prompt"):
            text = getattr(step, part)
            if text is not None:
                yield from check_template(text, (*step_loc, part), scope, ctx.source)
        yield from _mcp_commands(step.tools, (*step_loc, "tools"), ctx)
        if scope.cases is None:
            continue
        names = sorted({name for case in scope.cases for name in case.vars})
        for position, image in enumerate(step.images):
            if image not in names:
                message = t("check.image_unknown_var", name=image, dataset=scope.dataset)
                yield _problem(ctx, (*step_loc, "images", position), message, _suggest(image, names))


def _mcp_commands(tools: Sequence[ToolEntry], loc: Loc, ctx: _Context) -> Iterator[Problem]:
    """An MCP server over stdio whose program is not on PATH (nor at its path) fails every call: say so now."""
    for index, tool in enumerate(tools):
        if not isinstance(tool, McpTools) or tool.mcp.command is None:
            continue
        program = tool.mcp.command[0]
        if "/" in program or os.sep in program:  # a path: as the server's process resolves it, from its folder
            folder = Path(tool.mcp.cwd or ".")
            target = folder / program if folder.is_absolute() else ctx.root / folder / program
            found = target.is_file() and os.access(target, os.X_OK)
        else:
            found = shutil.which(program) is not None
        if not found:
            message = t("check.mcp_command_missing", program=program)
            yield _problem(ctx, (*loc, index, "mcp", "command", 0), message, t("check.mcp_command_hint"))


def _dataset(feature: FeatureConfig, loc: Loc, ctx: _Context) -> tuple[list[Case] | None, str, list[Problem]]:
    """The feature's cases (None without a dataset, or when it cannot be read) and the problems found."""
    if feature.dataset is None:
        return None, "", []
    name = feature.dataset.path
    target = Path(name)
    target = target if target.is_absolute() else ctx.root / target
    if not target.is_file():
        close = difflib.get_close_matches(name, _dataset_files(ctx.root), n=1)
        hint = t("check.did_you_mean", name=close[0]) if close else t("check.dataset_missing_hint", folder=ctx.root)
        return None, name, [_problem(ctx, loc, t("check.dataset_missing", file=name), hint)]
    try:
        dataset = load_dataset(target, ctx.root)
    except ConfigError as exc:  # the dataset's own error names its file and line
        if exc.where:
            return None, name, [Problem(exc.where, "", exc.message, exc.hint)]
        return None, name, [_problem(ctx, loc, exc.message, exc.hint)]
    return dataset.cases, name, []


def _dataset_files(root: Path) -> list[str]:
    """Dataset-like files under the workspace (relative, ``/``-separated), for "did you mean".

    Hidden folders (``.andon``, ``.venv``, ``.git``) are not entered, and the walk stops after a few
    thousand entries so a large workspace costs little.
    """
    found: list[str] = []
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        for name in sorted(files):
            seen += 1
            if Path(name).suffix.lower() in DATASET_SUFFIXES:
                found.append((Path(folder) / name).relative_to(root).as_posix())
        if seen >= _MAX_LISTED_FILES:
            break
    return found


def _grader(spec: GraderSettings, loc: Loc, cases: list[Case] | None, dataset: str, ctx: _Context) -> Iterator[Problem]:
    if spec.base_type not in known_types():
        return  # the loader's check of plugin types has reported it, with the closest known type
    try:
        build_grader(spec, where=dotted(loc))
    except ConfigError as exc:
        yield _problem(ctx, loc, exc.message, exc.hint)
    scope = TemplateScope(cases, GRADER_NAMES, dataset)
    if isinstance(spec, LlmRubricSettings):
        if spec.judge:
            yield from _judge(spec.judge, (*loc, "judge"), ctx)
        if spec.rubric is not None:
            yield from check_template(spec.rubric, (*loc, "rubric"), scope, ctx.source)
    for value_loc, text in _template_strings(getattr(spec, "value", None), (*loc, "value")):
        yield from check_template(text, value_loc, scope, ctx.source)


def _template_strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Every string inside ``value`` that graders render as a template, with its location."""
    if isinstance(value, str):
        if has_template(value):
            yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _template_strings(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _template_strings(item, (*loc, str(key)))


def _judge(judge: str, loc: Loc, ctx: _Context) -> Iterator[Problem]:
    """A judge is a provider, or FEATURE:VERSION (an empty VERSION means the feature's last one)."""
    pairs = [f"{f}:{v}" for f, names in ctx.versions.items() for v in names]
    listed = t("check.judge_hint", providers=", ".join(ctx.providers) or "—")
    if ":" not in judge:
        if judge not in ctx.providers:
            message = t("check.judge_no_provider", judge=judge)
            yield _problem(ctx, loc, message, _suggest(judge, [*ctx.providers, *pairs]) or listed)
        return
    feature, _, version = judge.partition(":")
    if feature not in ctx.versions:
        message = t("check.judge_no_feature", judge=judge, feature=feature)
        yield _problem(ctx, loc, message, _suggest(judge, pairs) or listed)
    elif version and version not in ctx.versions[feature] and not _VERSION_ID.fullmatch(version):
        declared = ctx.versions[feature]
        message = t("check.judge_no_version", judge=judge, feature=feature, version=version)
        yield _problem(ctx, loc, message, _suggest(version, declared) or _versions_hint(declared))


def _serve(feature: FeatureConfig, base: Loc, ctx: _Context) -> Iterator[Problem]:
    declared = list(feature.versions)
    serve = feature.serve
    if serve.live is not None and serve.live not in declared:
        message = t("check.live_unknown", version=serve.live)
        yield _problem(
            ctx, (*base, "serve", "live"), message, _suggest(serve.live, declared) or _versions_hint(declared)
        )
    fallback = serve.routing.fallback
    if fallback not in FALLBACKS and fallback not in declared:
        message = t("check.fallback_unknown", value=fallback)
        hint = _suggest(fallback, [*FALLBACKS, *declared]) or _versions_hint(declared)
        yield _problem(ctx, (*base, "serve", "routing", "fallback"), message, hint)
    if serve.cache.judge is not None:
        yield from _judge(serve.cache.judge, (*base, "serve", "cache", "judge"), ctx)
    yield from _logprob_routing(feature, base, ctx)


def _logprob_routing(feature: FeatureConfig, base: Loc, ctx: _Context) -> Iterator[Problem]:
    """``confidence_source: logprob`` needs a step recording log-probabilities, else every call goes to a person."""
    routing = feature.serve.routing
    if routing.confidence_source != "logprob" or routing.confidence_path is None:
        return
    missing = [
        name
        for name, spec in feature.versions.items()
        if not any(step.params.logprobs for step in spec.normalized_steps())
    ]
    if missing:
        message = t("check.logprob_routing", versions=", ".join(missing))
        yield _problem(ctx, (*base, "serve", "routing", "confidence_source"), message, t("check.logprob_routing_hint"))


def _versions_hint(declared: list[str]) -> str:
    return t("check.versions_hint", names=", ".join(declared) or "—")


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1)
    return t("check.did_you_mean", name=close[0]) if close else None


def _problem(ctx: _Context, loc: Loc, message: str, hint: str | None) -> Problem:
    return Problem(where=ctx.source.where(loc), field=dotted(loc), message=message, hint=hint)


def _in_file_order(problems: list[Problem], config: Path) -> list[Problem]:
    """andon.yaml's problems top to bottom, then other files' (datasets); stable for ties."""

    def key(problem: Problem) -> tuple[bool, str, int, int]:
        match = re.fullmatch(r"(.*?):(\d+)(?::(\d+))?", problem.where)
        file, line, col = (problem.where, 0, 0) if match is None else (match[1], int(match[2]), int(match[3] or 0))
        return file != str(config), file, line, col

    return sorted(problems, key=key)
