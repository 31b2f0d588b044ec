"""Read YAML safely into plain data: aliases and nesting bounded, no tags but ``!!str``, every position kept.

Untrusted files (a pull request's andon.yaml, a dataset) must fail fast with file:line instead of
expanding a "billion laughs" or constructing Python objects, so the event stream is vetted before any
node is built: that costs one extra pass, linear in the file, and nothing is ever expanded to find out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.scalarstring import LiteralScalarString

from andon.config.problems import Problem
from andon.errors import ConfigError
from andon.messages import t

Loc = tuple[str | int, ...]

# Plenty for any real file (a few aliases to share parameters), far below what hurts: an alias-free file
# expands to about its own length, so only aliasing can reach the size bound.
MAX_ALIASES = 10_000
BASE_EXPANDED = 100_000
EXPANDED_PER_CHAR = 10
MAX_DEPTH = 200
ALLOWED_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_ENV_REF = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class SourceMap:
    """Where each value of a parsed file sits: the key's line and column, the value's, and block scalars."""

    path: Path
    keys: dict[Loc, tuple[int, int]] = field(default_factory=lambda: {(): (1, 1)})
    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    literal_blocks: set[Loc] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    def nearest(self, loc: Loc) -> Loc:
        """The longest prefix of ``loc`` that has a known position."""
        for size in range(len(loc), -1, -1):
            if loc[:size] in self.keys:
                return loc[:size]
        return ()

    def where(self, loc: Loc) -> str:
        """``file:line:col`` of the value at ``loc`` (or of its nearest known parent)."""
        line, col = self.keys[self.nearest(loc)]
        return f"{self.path}:{line}:{col}"

    def template_where(self, loc: Loc, template_line: int, template_col: int | None = None) -> str:
        """``file:line:col`` of line ``template_line`` (and column, both 1-based) of the string at ``loc``.

        A ``|`` block keeps its lines, so the spot is exact; a one-line value is exact up to escapes; other
        styles fold lines, so they point at the value.
        """
        if loc in self.literal_blocks and loc in self.values:
            indicator_line, _ = self.values[loc]
            line = indicator_line + max(template_line, 1)
            # The block's indentation is its first non-empty line's; deeper spaces are template text.
            body = (text for text in self.lines[indicator_line:] if text.strip())
            first = next(body, "")
            indent = len(first) - len(first.lstrip(" "))
            return f"{self.path}:{line}:{indent + (template_col or 1)}"
        line, col = self.values.get(loc) or self.keys[self.nearest(loc)]
        if template_line == 1 and template_col is not None and loc in self.values:
            text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            quoted = 1 if text[col - 1 : col] in ("'", '"') else 0
            col += quoted + template_col - 1
        return f"{self.path}:{line}:{col}"


def dotted(loc: Loc) -> str:
    """``features.f.graders[0].type`` for a location tuple."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts) or "(top level)"


def read_yaml(text: str, path: Path, env: dict[str, str] | None) -> tuple[Any, SourceMap, list[Problem]]:
    """Parse ``text`` into plain data and its source map; ``${ENV}`` references are interpolated when ``env``.

    Syntax errors, alias bombs, too deep nesting and tags raise ConfigError at file:line:column. Missing
    environment variables are returned as problems (every one of them), the reference left in place.
    """
    _vet_events(text, path)
    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, path) from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        # The vetting above leaves little to fail here; still, a user's file must never give a traceback.
        raise ConfigError(t("check.yaml_unreadable", error=f"{type(exc).__name__}: {exc}"), where=str(path)) from None
    source = SourceMap(path=path, lines=text.splitlines())
    problems: list[Problem] = []
    data = _Plain(source, env, problems).convert(root, ())
    return data, source, problems


def _syntax_error(exc: MarkedYAMLError, path: Path) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    problem = exc.problem or exc.context or t("house2.yaml.invalid")
    return ConfigError(t("house2.yaml.syntax", problem=problem), where=where, hint=t("house2.yaml.syntax_hint"))


def _vet_events(text: str, path: Path) -> None:
    """Refuse tags, deep nesting and alias bombs from the event stream, before any node is built."""
    limit = BASE_EXPANDED + EXPANDED_PER_CHAR * len(text)
    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    starts: list[tuple[str | None, int]] = []  # open collections: (anchor, expanded total at its start)
    total = aliases = 0
    events = YAML(typ="rt").parse(text)
    try:
        for event in events:
            if isinstance(event, AliasEvent):
                aliases += 1
                total += sizes.get(str(event.anchor), 1)
                if aliases > MAX_ALIASES:
                    _refuse(event, path, t("check.yaml_alias_count", limit=MAX_ALIASES))
                if total > limit:
                    _refuse(event, path, t("check.yaml_alias_size", limit=limit))
                continue
            if isinstance(event, NodeEvent):
                tag = getattr(event, "tag", None)
                tag_text = None if tag is None else str(getattr(tag, "value", tag))
                if tag_text is not None and tag_text not in ALLOWED_TAGS:
                    shown = tag_text.replace("tag:yaml.org,2002:", "!!", 1)
                    _refuse(event, path, t("check.yaml_tag", tag=shown), t("check.yaml_tag_hint"))
            if isinstance(event, ScalarEvent):
                total += 1 + len(event.value or "")
                if event.anchor is not None:
                    sizes[str(event.anchor)] = 1 + len(event.value or "")
            elif isinstance(event, CollectionStartEvent):
                starts.append((None if event.anchor is None else str(event.anchor), total))
                total += 1
                if len(starts) > MAX_DEPTH:
                    _refuse(event, path, t("check.yaml_too_deep", limit=MAX_DEPTH), t("check.yaml_too_deep_hint"))
            elif isinstance(event, CollectionEndEvent) and starts:
                anchor, start = starts.pop()
                if anchor is not None:
                    sizes[anchor] = total - start
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, path) from None


def _refuse(event: Event, path: Path, message: str, hint: str | None = None) -> None:
    mark = event.start_mark
    raise ConfigError(
        message, where=f"{path}:{mark.line + 1}:{mark.column + 1}", hint=hint or t("check.yaml_alias_hint")
    )


class _Plain:
    """Turns ruamel's round-trip nodes into dicts, lists and scalars, recording positions on the way."""

    def __init__(self, source: SourceMap, env: dict[str, str] | None, problems: list[Problem]) -> None:
        self.source = source
        self.env = env
        self.problems = problems

    def convert(self, node: Any, loc: Loc) -> Any:
        """Plain data for ``node`` found at ``loc``."""
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key, value in node.items():
                child = (*loc, str(key))
                self._record(child, node.lc.key(key), _value_position(node, key), value)
                out[str(key)] = self.convert(value, child)
            return out
        if isinstance(node, CommentedSeq):
            items: list[Any] = []
            for index, value in enumerate(node):
                child = (*loc, index)
                position = node.lc.item(index)
                self._record(child, position, position, value)
                items.append(self.convert(value, child))
            return items
        if isinstance(node, TaggedScalar):  # `!!str 010`: the only tag let through
            node = str(node.value)
        if isinstance(node, str):
            return self._interpolate(str(node), loc)
        return node

    def _record(self, loc: Loc, key: Any, value: Any, node: Any) -> None:
        if key:
            self.source.keys[loc] = (key[0] + 1, key[1] + 1)
        if value:
            self.source.values[loc] = (value[0] + 1, value[1] + 1)
        if isinstance(node, LiteralScalarString):
            self.source.literal_blocks.add(loc)

    def _interpolate(self, value: str, loc: Loc) -> str:
        return value if self.env is None else interpolate(value, loc, self.source, self.env, self.problems)


def interpolate(value: str, loc: Loc, source: SourceMap, env: dict[str, str], problems: list[Problem]) -> str:
    """``${NAME}`` and ``${NAME:-default}`` replaced from ``env`` and ``$$`` by ``$``; a missing one is a problem."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            Problem(
                where=source.where(loc),
                field=dotted(loc),
                message=t("house2.yaml.env", name=name, field=dotted(loc)),
                hint=t("house2.yaml.env_hint", name=name),
            )
        )
        return match.group(0)

    return _ENV_REF.sub(replace, value)


def _value_position(node: CommentedMap, key: Any) -> Any:
    try:
        return node.lc.value(key)
    except (KeyError, TypeError):
        return None
