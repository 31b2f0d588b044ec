"""Cost conversion into the report currency is built once per andon.yaml, from its currency and exchange rates."""

from __future__ import annotations

from decimal import Decimal

from andon.config.schema import WorkspaceConfig
from andon.evals.summarize import Conversion


def _config(**values: object) -> WorkspaceConfig:
    return WorkspaceConfig.model_validate(values)


def test_conversion_of_a_config_converts_with_its_rates() -> None:
    convert = Conversion.of(_config(currency="KRW", exchange_rates={"USD": Decimal("1450.5")}))
    assert convert == Conversion("KRW", {"USD": 1450.5})
    assert convert(2.0, "USD") == 2901.0 and convert(3.0, "KRW") == 3.0 and convert(3.0, None) == 3.0
    assert convert(1.0, "EUR") is None and convert(None, "USD") is None


def test_conversion_is_built_once_per_config() -> None:
    config = _config(currency="KRW", exchange_rates={"USD": 1450, "JPY": 9.5})
    same = _config(currency="KRW", exchange_rates={"JPY": 9.5, "USD": 1450})
    assert Conversion.of(config) is Conversion.of(config) is Conversion.of(same)
    assert Conversion.of(_config(currency="KRW", exchange_rates={"USD": 1400})) is not Conversion.of(config)
    assert Conversion.of(_config(currency="USD")) is not Conversion.of(_config(currency="KRW"))
