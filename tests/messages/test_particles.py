"""Korean particles follow the word before them, in every message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.messages import _FORMATTER
from andon.messages.particles import PARTICLES, attach


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("모델", "을/를", "모델을"),
        ("버전", "이/가", "버전이"),
        ("케이스", "이/가", "케이스가"),
        ("v1-plain", "와/과", "v1-plain과"),
        ("v2-rules", "이/가", "v2-rules가"),
        ("v3-hybrid", "은/는", "v3-hybrid는"),
        ("서울", "으로/로", "서울로"),  # ㄹ takes 로
        ("부산", "으로/로", "부산으로"),
        ("1", "으로/로", "1로"),
        ("3", "을/를", "3을"),
        ("2", "을/를", "2를"),
        ("100", "이/가", "100이"),
        ("`menu-review`", "을/를", "`menu-review`를"),  # quotes and punctuation are not read
        ("URL", "을/를", "URL을"),
    ],
)
def test_particle_fits_the_word(word: str, particle: str, expected: str) -> None:
    assert attach(word, particle) == expected


def test_catalogue_format_spec_attaches_the_particle() -> None:
    text = _FORMATTER.format("{b:이/가} {a}보다 낫습니다", a="v1-plain", b="v2-rules")
    assert text == "v2-rules가 v1-plain보다 낫습니다"
    assert _FORMATTER.format("{n:.1f}", n=2.25) == "2.2"  # ordinary specs still work


hangul = st.integers(0xAC00, 0xD7A3).map(chr)


@given(st.text(hangul, min_size=1, max_size=5), st.sampled_from(sorted(PARTICLES)))
def test_exactly_one_of_the_two_forms_is_appended(word: str, particle: str) -> None:
    out = attach(word, particle)
    assert out[: len(word)] == word and out[len(word) :] in PARTICLES[particle]
    has_final = (ord(word[-1]) - 0xAC00) % 28 != 0
    consonant_form, vowel_form = PARTICLES[particle]
    if particle != "으로/로":
        assert out[len(word) :] == (consonant_form if has_final else vowel_form)
