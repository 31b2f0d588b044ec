"""Masking before the provider: typed, numbered placeholders that round-trip and never collide with user text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import DataUseConfig
from andon.engine.masking import Masker, MaskPolicy
from andon.providers.base import ImagePart, Message, TextPart

PHONES = ["010-1234-5678", "02-555-0199", "+82 10 9876 5432", "1588-1234", "(415) 555-0100"]
EMAILS = ["kim@example.com", "lee.s@naver.com", "park+ai@daum.net"]
RRNS = ["900101-1234567", "850615-2345678"]
CARDS = ["4111 1111 1111 1111", "5500-0000-0000-0004"]
KEYS = ["sk-abcdefghijklmnop1234", "andon_sk_ABCDEFGH1234"]
VALUES = PHONES + EMAILS + RRNS + CARDS + KEYS

# Filler around the values: letters, Hangul, spaces and brackets, plus literal placeholder-shaped text a user
# might type; no digits or @ (they would change what the values next to them are).
_FILLER = st.text(alphabet="abcXYZ 가나다라 안녕하세요.,!?[]_", max_size=12)
_LITERALS = st.sampled_from(["[PHONE_1]", "[EMAIL_1]", "[PHONE_2]", "[RRN_1]", "[CARD_3]", "[API_KEY_1]", "[PHONE_"])
_PIECE = st.one_of(_FILLER, _LITERALS, st.sampled_from(VALUES))


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A text of filler, literal placeholders and PII values, each value set off by spaces; and the values."""
    pieces = draw(st.lists(_PIECE, min_size=1, max_size=10))
    values = [piece for piece in pieces if piece in VALUES]
    return " ".join(f" {piece} " if piece in VALUES else piece for piece in pieces), values


@given(texts())
def test_restore_after_mask_gives_the_original_and_no_value_is_sent(sample: tuple[str, list[str]]) -> None:
    text, values = sample
    masker = Masker(MaskPolicy())
    masked = masker.mask(text)
    assert masker.restore(masked) == text
    for value in values:
        assert value not in masked


@given(texts(), texts())
def test_one_masker_over_several_messages_round_trips_each(
    first: tuple[str, list[str]], second: tuple[str, list[str]]
) -> None:
    masker = Masker(MaskPolicy())
    masker.reserve([first[0], second[0]])  # as run_version reserves the call's variables before any step
    masked = [masker.mask(first[0]), masker.mask(second[0])]
    assert [masker.restore(text) for text in masked] == [first[0], second[0]]


def test_the_same_value_gets_the_same_placeholder_and_types_are_numbered_apart() -> None:
    masker = Masker(MaskPolicy())
    masked = masker.mask("010-1234-5678, kim@example.com, 02-555-0199, again 010-1234-5678")
    assert masked == "[PHONE_1], [EMAIL_1], [PHONE_2], again [PHONE_1]"
    assert masker.mask("text me at 010-1234-5678") == "text me at [PHONE_1]"  # the call's other messages agree
    assert masker.counts == {"PHONE": 2, "EMAIL": 1}


def test_a_literal_placeholder_in_user_text_is_never_issued_nor_restored() -> None:
    masker = Masker(MaskPolicy())
    masker.reserve({"note": "the form says [PHONE_1] and [PHONE_2]"})
    masked = masker.mask("the form says [PHONE_1] and [PHONE_2]; mine is 010-1234-5678")
    assert masked == "the form says [PHONE_1] and [PHONE_2]; mine is [PHONE_3]"
    # A model echoing the user's literal tokens gets them back untouched; only issued ones are restored.
    assert (
        masker.restore("[PHONE_1] is a field; you wrote [PHONE_3]") == "[PHONE_1] is a field; you wrote 010-1234-5678"
    )


def test_parsed_answers_messages_and_kinds() -> None:
    masker = Masker(MaskPolicy(kinds=("phones",)))
    messages = (Message("user", (TextPart("kim@example.com 010-1234-5678"), ImagePart("data:image/png;base64,AAAA"))),)
    (message,) = masker.mask_messages(messages)
    assert message.content == (TextPart("kim@example.com [PHONE_1]"), ImagePart("data:image/png;base64,AAAA"))
    answer = {"contact": ["[PHONE_1]", 3], "[PHONE_1]": None}
    assert masker.restore_value(answer) == {"contact": ["010-1234-5678", 3], "010-1234-5678": None}
    assert masker.provenance() == {"send": "masked", "restore": True, "placeholders": {"PHONE": 1}}


@pytest.mark.parametrize(
    ("data_use", "expected"),
    [
        ({}, None),
        ({"send": "masked"}, MaskPolicy()),
        ({"send": "masked", "mask": ["rrn"], "restore": False}, MaskPolicy(("rrn",), restore=False)),
    ],
)
def test_the_policy_follows_serve_data_use(data_use: dict[str, object], expected: MaskPolicy | None) -> None:
    assert MaskPolicy.of(DataUseConfig.model_validate(data_use)) == expected
