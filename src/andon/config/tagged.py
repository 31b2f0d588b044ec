"""Settings chosen by their ``type``: one pydantic union for graders and providers, built-in types and plugins.

Each built-in type has its own model under a tag ``<prefix><type>`` (pydantic puts the tag into error
locations, which is how the loader finds and drops it); anything else is a plugin, validated as ``spec``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Tag, WrapValidator
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

__all__ = ["by_type", "plugin_tag"]


def plugin_tag(prefix: str) -> str:
    """The tag of every type that is not built in, e.g. ``grader=plugin``."""
    return f"{prefix}plugin"


def by_type(
    prefix: str,
    models: Mapping[str, type[BaseModel]],
    spec: type[BaseModel],
    *,
    base_type: Callable[[str], str] = str,
    own_settings: type[BaseModel] | None = None,
) -> Any:
    """The union of ``models`` (by type name) and ``spec`` for plugins, chosen by ``base_type(entry.type)``.

    An entry built in Python as a plain ``spec`` of a built-in type is checked as the mapping it was written
    as. A plugin's own settings (an ``own_settings`` instance of none of these models) pass as they are: the
    loader has checked them against the plugin's model.
    """
    fallback = plugin_tag(prefix)
    checked = (*models.values(), spec)

    def tag(value: Any) -> str:
        kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
        name = base_type(kind) if isinstance(kind, str) else None
        return f"{prefix}{name}" if name in models else fallback

    def unchecked(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if type(value) is spec and base_type(getattr(value, "type", "")) in models:
            return handler(value.model_dump(exclude_unset=True))
        if own_settings is not None and isinstance(value, own_settings) and type(value) not in checked:
            return value
        return handler(value)

    choices: list[Any] = [Annotated[model, Tag(f"{prefix}{name}")] for name, model in models.items()]
    union = functools.reduce(operator.or_, [*choices, Annotated[spec, Tag(fallback)]])  # in the table's order
    return Annotated[union, Discriminator(tag), WrapValidator(unchecked)]
