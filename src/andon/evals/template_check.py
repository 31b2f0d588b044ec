"""Static checks of one prompt template: Jinja syntax, and the variables it reads against a dataset's cases."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta, nodes

from andon.config.problems import Problem
from andon.config.yaml_source import Loc, SourceMap, dotted
from andon.evals.model import Case
from andon.messages import t
from andon.versions.render import parse_template

_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


@dataclass(frozen=True)
class TemplateScope:
    """What a template may read: each case's variables, plus names every render provides (``steps`` …)."""

    cases: Sequence[Case] | None  # None: no dataset, so variables cannot be checked
    always: Collection[str]
    dataset: str = ""


def check_template(source: str, loc: Loc, scope: TemplateScope, where: SourceMap) -> list[Problem]:
    """Problems of the template ``source`` found at ``loc`` in andon.yaml (syntax first, then variables)."""
    try:
        tree = parse_template(source)
    except TemplateSyntaxError as exc:
        line = exc.lineno or 1
        return [
            Problem(
                where=where.template_where(loc, line),
                field=dotted(loc),
                message=t("check.template_syntax", error=exc.message or "invalid", line=line),
                hint=t("check.template_syntax_hint", line=line),
            )
        ]
    if scope.cases is None:
        return []
    guarded = _guarded_names(tree)
    problems: list[Problem] = []
    for name in sorted(meta.find_undeclared_variables(tree) - guarded - set(scope.always), key=source.find):
        lacking = [case for case in scope.cases if name not in case.vars]
        if not lacking:
            continue
        spot = where.template_where(loc, *_position(source, name))
        if len(lacking) == len(scope.cases):
            provided = sorted({key for case in scope.cases for key in case.vars} | set(scope.always))
            close = difflib.get_close_matches(name, provided, n=1)
            hint = (
                t("check.did_you_mean", name=close[0])
                if close
                else t("check.template_vars_hint", names=", ".join(provided) or "—")
            )
            message = t("check.template_unknown_var", name=name, dataset=scope.dataset)
        else:
            first = lacking[0]
            message = t(
                "check.template_var_some",
                name=name,
                missing=len(lacking),
                total=len(scope.cases),
                case=first.id,
                where=first.source or scope.dataset,
            )
            hint = t("check.template_var_some_hint", name=name)
        problems.append(Problem(where=spot, field=dotted(loc), message=message, hint=hint))
    return problems


def _guarded_names(tree: nodes.Template) -> set[str]:
    """Names the template tests with ``is defined`` or gives a ``default``: a case may leave them out."""
    guarded: set[str] = set()
    for test in tree.find_all(nodes.Test):
        if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name):
            guarded.add(test.node.name)
    for filtered in tree.find_all(nodes.Filter):
        if filtered.name in ("default", "d") and isinstance(filtered.node, nodes.Name):
            guarded.add(filtered.node.name)
    return guarded


def _position(source: str, name: str) -> tuple[int, int | None]:
    """Template line and column (1-based) of the first use of ``name`` inside a ``{{ }}`` or ``{% %}``."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
    for tag in _TAG.finditer(source):
        found = word.search(source, tag.start(), tag.end())
        if found:
            offset = found.start()
            line_start = source.rfind("\n", 0, offset) + 1
            return source.count("\n", 0, offset) + 1, offset - line_start + 1
    return 1, None
