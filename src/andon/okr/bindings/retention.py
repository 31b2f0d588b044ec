"""``retention``: (customers at end − new customers) / customers at start × 100, each input a binding of its own.

The snapshot keeps every input's value and snapshot, so the number can be checked by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from andon.errors import ConfigError
from andon.messages import t
from andon.okr.bindings.base import (
    Binding,
    BindingContext,
    BindingError,
    BindingSettings,
    Reading,
    build_binding,
    check_binding,
    finite,
)
from andon.okr.retention import FORMULA, retention

INPUTS = ("customers_end", "new_customers", "customers_start")


class RetentionSettings(BindingSettings):
    """Three bindings: customers at the period's end, new customers in it, customers at its start."""

    type: Literal["retention"] = "retention"
    customers_end: dict[str, Any] = Field(description="A binding: customers at the end of the period.")
    new_customers: dict[str, Any] = Field(description="A binding: customers won during the period.")
    customers_start: dict[str, Any] = Field(description="A binding: customers at the start of the period.")


class RetentionBinding(Binding):
    """The retention formula over three input bindings."""

    type_name: ClassVar[str] = "retention"
    Settings: ClassVar[type[BindingSettings]] = RetentionSettings
    settings: RetentionSettings

    @classmethod
    def check(cls, settings: BindingSettings, where: str) -> None:
        """Each input is a valid binding (errors name e.g. ``binding.customers_end.query``)."""
        assert isinstance(settings, RetentionSettings)
        for name in INPUTS:
            check_binding(getattr(settings, name), f"{where}.{name}")

    def describe(self) -> str:
        """``retention(sql, sql, sql)``."""
        return f"retention({', '.join(str(getattr(self.settings, n).get('type')) for n in INPUTS)})"

    def read(self, context: BindingContext) -> Reading:
        """Read the three inputs, then the formula; a failing input fails the whole, naming which one."""
        values: dict[str, float] = {}
        inputs: dict[str, Any] = {}
        for name in INPUTS:
            binding = build_binding(getattr(self.settings, name), f"binding.{name}")
            try:
                reading = binding.read(context)
            except BindingError as exc:
                raise BindingError(
                    t("okr.bind.retention.input_failed", input=name, error=exc.message),
                    where=_nested(exc.where, name),
                    hint=exc.hint,
                ) from None
            values[name] = reading.value
            inputs[name] = {"type": binding.type_name, "value": reading.value, "snapshot": reading.snapshot}
        try:
            rate = retention(**values)
        except ConfigError as exc:  # e.g. no customers at the start: the rate is not defined
            raise BindingError(
                exc.message, where=f"binding.{exc.where}" if exc.where else None, hint=exc.hint
            ) from None
        snapshot = {"formula": FORMULA, "explained": rate.explain(), "inputs": inputs, "value": rate.value}
        return Reading(finite(rate.value, "retention"), snapshot)


def _nested(where: str | None, name: str) -> str:
    """``binding.url`` of an input → ``binding.customers_end.url``."""
    if where is not None and (where == "binding" or where.startswith("binding.")):
        return f"binding.{name}{where.removeprefix('binding')}"
    return f"binding.{name}" if where is None else f"binding.{name}: {where}"
