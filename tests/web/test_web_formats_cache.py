"""The page formats keep each value's text once made: what they give is Babel's own text for that value, in that
language, however often asked and in whichever order (1 and 1.0, 0.0 and -0.0 are kept apart)."""

from __future__ import annotations

from babel.numbers import format_decimal, format_percent
from hypothesis import given
from hypothesis import strategies as st

from andon.web.i18n import LOCALES, Formats

values = st.one_of(
    st.integers(-(10**9), 10**9), st.floats(-1e9, 1e9, allow_nan=False), st.sampled_from([0.0, -0.0, 1, 1.0])
)


@given(st.lists(st.tuples(values, st.sampled_from(["en", "ko"]), st.integers(0, 4)), max_size=30))
def test_kept_texts_are_babels_texts(asked: list[tuple[float, str, int]]) -> None:
    for value, language, digits in asked * 2:  # the second pass reads what the first one kept
        fmt, locale = Formats(language), LOCALES[language]
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        assert fmt.number(value, digits) == format_decimal(value, format=pattern, locale=locale)
        assert fmt.percent(value) == format_percent(value, format="#,##0.#%", locale=locale)
    assert Formats("en").number(None) == "—" and Formats("ko").percent(None) == "—"
