"""The customer retention rate as a computed metric: ((customers at period end − new customers) / customers at
period start) × 100, returned with its inputs so every reader sees what it was made of."""

from __future__ import annotations

import math
from dataclasses import dataclass

from andon.errors import ConfigError
from andon.messages import t

FORMULA = "(customers_end - new_customers) / customers_start * 100"


@dataclass(frozen=True, slots=True)
class Retention:
    """A retention rate in percent and the three numbers it came from."""

    value: float
    customers_end: float
    new_customers: float
    customers_start: float

    @property
    def inputs(self) -> dict[str, float]:
        """The inputs by name (what a check-in's snapshot keeps)."""
        return {
            "customers_end": self.customers_end,
            "new_customers": self.new_customers,
            "customers_start": self.customers_start,
        }

    def explain(self) -> str:
        """The formula with the numbers filled in, e.g. ``(1200 − 300) / 1000 × 100 = 90.0``."""
        return f"({self.customers_end:g} − {self.new_customers:g}) / {self.customers_start:g} × 100 = {self.value:.1f}"


def retention(customers_end: float, new_customers: float, customers_start: float) -> Retention:
    """The retention rate; start ≤ 0, negative counts or more new customers than at the end are refused."""
    values = {"customers_end": customers_end, "new_customers": new_customers, "customers_start": customers_start}
    for name, value in values.items():
        if not math.isfinite(value) or value < 0:
            raise ConfigError(t("okr.retention.negative", name=name, value=value), where=name)
    if customers_start <= 0:
        raise ConfigError(t("okr.retention.no_start"), where="customers_start", hint=t("okr.retention.no_start_hint"))
    if new_customers > customers_end:
        raise ConfigError(t("okr.retention.more_new", new=new_customers, end=customers_end), where="new_customers")
    value = (customers_end - new_customers) / customers_start * 100.0
    return Retention(value, float(customers_end), float(new_customers), float(customers_start))
