"""Key-result bindings: numbers nobody types — andon metrics, read-only SQL, linked work, retention.

``check_binding(spec, where)`` validates a ``binding:`` spec (errors name the field); ``build_binding`` makes
it ready; ``Binding.read(context)`` gives a :class:`Reading` or raises :class:`BindingError`.
"""

from andon.okr.bindings.base import (
    GROUP,
    REGISTRY,
    Binding,
    BindingContext,
    BindingError,
    BindingSettings,
    Reading,
    binding_class,
    build_binding,
    check_binding,
    known_types,
)

__all__ = [
    "GROUP",
    "REGISTRY",
    "Binding",
    "BindingContext",
    "BindingError",
    "BindingSettings",
    "Reading",
    "binding_class",
    "build_binding",
    "check_binding",
    "known_types",
]
