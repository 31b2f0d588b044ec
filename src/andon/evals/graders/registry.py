"""Grader types by name: the built-ins, plus plugins registered under the ``andon.graders`` entry point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from andon.config.schema import GraderSpec
from andon.errors import AndonError, ConfigError
from andon.evals.graders.base import Grader
from andon.evals.graders.scoring import Negated
from andon.plugins import Registry

GROUP = "andon.graders"

# Imported only when used, so plain graders never load the embedding model's package; a plugin cannot
# take over a built-in name.
BUILTINS: dict[str, str] = {
    "equals": "andon.evals.graders.text:Equals",
    "contains": "andon.evals.graders.text:Contains",
    "icontains": "andon.evals.graders.text:IContains",
    "contains-any": "andon.evals.graders.text:ContainsAny",
    "contains-all": "andon.evals.graders.text:ContainsAll",
    "regex": "andon.evals.graders.text:Regex",
    "label": "andon.evals.graders.text:Label",
    "json-field": "andon.evals.graders.text:JsonField",
    "is-json": "andon.evals.graders.structured:IsJson",
    "json-schema": "andon.evals.graders.structured:JsonSchema",
    "numeric": "andon.evals.graders.structured:Numeric",
    "similar": "andon.evals.graders.similarity:Similar",
    "llm-rubric": "andon.evals.graders.rubric:LlmRubric",
    "python": "andon.evals.graders.python_grader:PythonGrader",
}


REGISTRY = Registry(GROUP, "grader", BUILTINS)


def known_types() -> list[str]:
    """Every grader type usable as ``type:`` (each may also be written ``not-<type>``)."""
    return REGISTRY.names()


def grader_class(type_name: str, *, where: str | None = None) -> Callable[..., Any]:
    """The class registered for ``type_name`` (without ``not-``); unknown or broken ones are ConfigErrors."""
    return cast(Callable[..., Any], REGISTRY.load(type_name, where=where))


def build_grader(spec: GraderSpec, *, where: str | None = None) -> Grader:
    """A ready grader for ``spec`` (negated for ``not-…``); bad settings fail here, at config time.

    Built-ins take ``(spec, where=...)``; a plugin class takes the spec alone.
    """
    where = where or f"grader {spec.label}"
    kind = spec.base_type
    cls = grader_class(kind, where=f"{where}.type")
    try:
        grader = cls(spec, where=where) if kind in BUILTINS else cls(spec)
    except AndonError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"grader type {kind!r} rejected its settings: {type(exc).__name__}: {exc}", where=where
        ) from exc
    if not callable(getattr(grader, "grade", None)):
        raise ConfigError(f"grader type {kind!r} made an object without grade()", where=where)
    return Negated(grader) if spec.negated else cast(Grader, grader)


def build_graders(specs: Sequence[GraderSpec], *, where: str = "graders") -> list[tuple[GraderSpec, Grader]]:
    """Every grader of a feature, paired with its spec (the shape :func:`grade_case` takes)."""
    return [(spec, build_grader(spec, where=f"{where}[{i}]")) for i, spec in enumerate(specs)]
