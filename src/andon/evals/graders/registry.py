"""Grader types by name: the built-ins, plus plugins registered under the ``andon.graders`` entry point.

Each type maps to its class and the settings model the class declares (``Settings``); built-ins and plugins
are constructed the same way, ``cls(settings, where=...)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, cast

from pydantic import ValidationError

from andon.config.graders import BUILTINS, GROUP, REGISTRY, GraderSettings, GraderSpec, settings_model
from andon.errors import AndonError, ConfigError
from andon.evals.graders.base import Grader
from andon.evals.graders.scoring import Negated
from andon.messages import t

__all__ = ["BUILTINS", "GROUP", "build_grader", "build_graders", "grader_class", "grader_settings", "known_types"]


def known_types() -> list[str]:
    """Every grader type usable as ``type:`` (each may also be written ``not-<type>``)."""
    return REGISTRY.names()


def grader_class(type_name: str, *, where: str | None = None) -> Callable[..., Any]:
    """The class registered for ``type_name`` (without ``not-``); unknown or broken ones are ConfigErrors."""
    return cast(Callable[..., Any], REGISTRY.load(type_name, where=where))


def grader_settings(spec: GraderSettings, cls: object, *, where: str) -> GraderSettings:
    """``spec`` as the settings ``cls`` declares; a spec written in Python is checked here, like andon.yaml's."""
    model = settings_model(cls)
    if isinstance(spec, model) and type(spec) is not GraderSpec:
        return spec
    try:
        return model.model_validate(spec.model_dump(exclude_unset=True))
    except ValidationError as exc:
        error = exc.errors()[0]
        at = ".".join(str(p) for p in error["loc"])
        raise ConfigError(error["msg"].removeprefix("Value error, "), where=f"{where}.{at}" if at else where) from None


def _construct(cls: Callable[..., Any], settings: GraderSettings, where: str) -> Any:
    try:
        takes_where = "where" in inspect.signature(cls).parameters
    except (TypeError, ValueError):  # a callable without an inspectable signature
        takes_where = False
    # Classes written before ``where`` was part of the constructor take the settings alone.
    return cls(settings, where=where) if takes_where else cls(settings)


def build_grader(spec: GraderSettings, *, where: str | None = None) -> Grader:
    """A ready grader for ``spec`` (negated for ``not-…``); bad settings fail here, at config time."""
    where = where or f"grader {spec.label}"
    kind = spec.base_type
    cls = grader_class(kind, where=f"{where}.type")
    settings = grader_settings(spec, cls, where=where)
    try:
        grader = _construct(cls, settings, where)
    except AndonError:
        raise
    except Exception as exc:
        raise ConfigError(
            t("house2.grade.rejected", kind=kind, type=type(exc).__name__, error=exc), where=where
        ) from exc
    if not callable(getattr(grader, "grade", None)):
        raise ConfigError(t("house2.grade.no_grade", kind=kind), where=where)
    return Negated(grader) if spec.negated else cast(Grader, grader)


def build_graders(specs: Sequence[GraderSettings], *, where: str = "graders") -> list[tuple[GraderSettings, Grader]]:
    """Every grader of a feature, paired with its spec (the shape :func:`grade_case` takes)."""
    return [(spec, build_grader(spec, where=f"{where}[{i}]")) for i, spec in enumerate(specs)]
