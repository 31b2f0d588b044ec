"""Cost of a call from token counts and the ``prices:`` table, and currency conversion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from andon.config.schema import Price
from andon.errors import ConfigError
from andon.messages import t

_MILLION = Decimal(1_000_000)


class PriceTable:
    """Prices per 1M tokens; the most specific row wins: provider+model > provider+* > *+model > *+*."""

    def __init__(self, prices: Iterable[Price]) -> None:
        self._rows: dict[tuple[str, str], Price] = {}
        for index, price in enumerate(prices):
            key = (price.provider, price.model)
            if key in self._rows:
                raise ConfigError(
                    t("house2.price.twice", provider=price.provider, model=price.model),
                    where=f"prices[{index}]",
                    hint=t("house2.price.twice_hint"),
                )
            self._rows[key] = price

    def lookup(self, provider_name: str, model: str) -> Price | None:
        """The row that prices ``model`` on ``provider_name``, or None when nothing matches."""
        for key in ((provider_name, model), (provider_name, "*"), ("*", model), ("*", "*")):
            row = self._rows.get(key)
            if row is not None:
                return row
        return None

    def cost(self, provider_name: str, model: str, input_tokens: int, output_tokens: int) -> tuple[float, str] | None:
        """``(amount, currency)`` of one call, or None when the table has no price for it."""
        if input_tokens < 0 or output_tokens < 0:
            raise ValueError(f"token counts must not be negative, got {input_tokens} and {output_tokens}")
        row = self.lookup(provider_name, model)
        if row is None:
            return None
        amount = (input_tokens * row.input_per_1m + output_tokens * row.output_per_1m) / _MILLION
        return float(amount), row.currency


def convert(
    amount: float | Decimal,
    from_currency: str,
    to_currency: str,
    exchange_rates: Mapping[str, Decimal | float],
    *,
    base: str | None = None,
) -> float:
    """Convert with ``exchange_rates`` = units of the base currency per 1 unit of each other currency.

    The base currency (``base``, else whichever of the two has no rate) counts as 1.
    """
    if from_currency == to_currency:
        return float(amount)

    def rate(code: str) -> Decimal | None:
        if code == base:
            return Decimal(1)
        value = exchange_rates.get(code)
        if value is None:
            return None
        value = Decimal(str(value)) if isinstance(value, float) else value
        if value <= 0:
            raise ConfigError(t("house2.price.positive", value=value), where=f"exchange_rates.{code}")
        return value

    source, target = rate(from_currency), rate(to_currency)
    missing = [c for c, r in ((from_currency, source), (to_currency, target)) if r is None]
    if len(missing) == 2 or (missing and base is not None):
        raise ConfigError(
            t("house2.price.no_rate", source=from_currency, target=to_currency),
            where="exchange_rates",
            hint=t("house2.price.no_rate_hint", code=missing[0]),
        )
    value = Decimal(str(amount)) if isinstance(amount, float) else amount
    return float(value * (source or Decimal(1)) / (target or Decimal(1)))
