"""Price lookup, cost arithmetic and currency conversion, with property tests."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import Price
from andon.errors import ConfigError
from andon.providers.pricing import PriceTable, convert

tokens = st.integers(min_value=0, max_value=10_000_000)
per_million = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)


def price(provider: str, model: str, inp: Decimal | str, out: Decimal | str, currency: str = "USD") -> Price:
    return Price(
        provider=provider, model=model, input_per_1m=Decimal(inp), output_per_1m=Decimal(out), currency=currency
    )


def test_cost_of_a_known_model() -> None:
    table = PriceTable([price("openai", "gpt-4o-mini", "0.15", "0.60")])
    assert table.cost("openai", "gpt-4o-mini", 1_000_000, 500_000) == (0.45, "USD")
    assert table.cost("openai", "other-model", 1, 1) is None
    assert table.cost("anthropic", "gpt-4o-mini", 1, 1) is None


def test_currency_comes_from_the_row() -> None:
    table = PriceTable([price("*", "*", "1000", "2000", currency="KRW")])
    assert table.cost("any", "thing", 2000, 1000) == (4.0, "KRW")


def test_duplicate_rows_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        PriceTable([price("a", "m", "1", "1"), price("b", "m", "1", "1"), price("a", "m", "2", "2")])
    assert caught.value.where == "prices[2]"


def test_negative_tokens_are_refused() -> None:
    with pytest.raises(ValueError):
        PriceTable([price("*", "*", "1", "1")]).cost("p", "m", -1, 0)


@given(rate_in=per_million, rate_out=per_million, a_in=tokens, a_out=tokens, b_in=tokens, b_out=tokens)
def test_cost_is_linear_and_non_negative(
    rate_in: Decimal, rate_out: Decimal, a_in: int, a_out: int, b_in: int, b_out: int
) -> None:
    table = PriceTable([price("p", "m", rate_in, rate_out)])
    a = table.cost("p", "m", a_in, a_out)
    b = table.cost("p", "m", b_in, b_out)
    both = table.cost("p", "m", a_in + b_in, a_out + b_out)
    assert a is not None and b is not None and both is not None
    assert a[0] >= 0 and b[0] >= 0
    assert math.isclose(both[0], a[0] + b[0], rel_tol=1e-12, abs_tol=1e-12)
    assert table.cost("p", "m", 0, 0) == (0.0, "USD")
    exact = (a_in * rate_in + a_out * rate_out) / Decimal(1_000_000)
    assert a[0] == float(exact)


KINDS = [("prov", "mod"), ("prov", "*"), ("*", "mod"), ("*", "*")]  # most specific first


@given(present=st.lists(st.sampled_from(range(4)), min_size=1, max_size=4, unique=True))
def test_most_specific_row_wins(present: list[int]) -> None:
    # Row k costs k+1 per input token so the chosen row can be read off the cost.
    rows = [price(*KINDS[k], Decimal((k + 1) * 1_000_000), "0") for k in present]
    rows += [price("other", "mod", "999000000", "0"), price("prov", "other", "999000000", "0")]
    table = PriceTable(rows)
    cost = table.cost("prov", "mod", 1, 0)
    assert cost is not None
    assert cost[0] == min(present) + 1


@given(amount=st.floats(min_value=0, max_value=1e9), rate=per_million.filter(lambda d: d > 0))
def test_conversion_round_trips(amount: float, rate: Decimal) -> None:
    rates = {"USD": rate}
    won = convert(amount, "USD", "KRW", rates)
    assert math.isclose(won, float(Decimal(str(amount)) * rate), rel_tol=1e-12)
    assert math.isclose(convert(won, "KRW", "USD", rates), amount, rel_tol=1e-9, abs_tol=1e-9)


def test_conversion_between_two_rated_currencies_goes_through_the_base() -> None:
    rates = {"USD": Decimal(1450), "EUR": Decimal(1600)}
    assert convert(14.5, "USD", "EUR", rates) == pytest.approx(13.140625)
    assert convert(3, "USD", "USD", {}) == 3.0
    assert convert(2, "USD", "KRW", rates, base="KRW") == 2900.0


def test_missing_or_bad_rates_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="no exchange rate"):
        convert(1, "EUR", "JPY", {"USD": Decimal(1450)})
    with pytest.raises(ConfigError, match="no exchange rate"):
        convert(1, "EUR", "KRW", {"USD": Decimal(1450)}, base="KRW")
    with pytest.raises(ConfigError, match="must be positive"):
        convert(1, "USD", "KRW", {"USD": Decimal(0)})
