"""Redaction of secrets and personal data: known forms, Luhn, Korean text around them, and properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from andon.gateway.redact import (
    MARKERS,
    Redactor,
    StoragePolicy,
    hash_messages,
    input_hash,
    luhn_valid,
    redact,
    sha256_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-abcdefghijklmnop1234 ok", "key [API_KEY] ok"),
        ("anthropic sk-ant-api03-AbCdEfGhIjKlMnOpQr", "anthropic [API_KEY]"),
        ("gateway andon_sk_3kq9x0ZZ_81Tb", "gateway [API_KEY]"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws [API_KEY] here"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Authorization: Bearer [API_KEY]"),
        ("메일은abc.def+tag@example.co.kr 로 보내 주세요", "메일은[EMAIL] 로 보내 주세요"),
        ("연락처는010-1234-5678입니다", "연락처는[PHONE]입니다"),
        ("휴대폰 01012345678", "휴대폰 [PHONE]"),
        ("서울 02-123-4567 / 부산 051.234.5678", "서울 [PHONE] / 부산 [PHONE]"),
        ("call +82 10-1234-5678 or +1 (415) 555-0100", "call [PHONE] or [PHONE]"),
        ("고객센터 1588-1234", "고객센터 [PHONE]"),
        ("주민번호 900101-1234567 확인", "주민번호 [RRN] 확인"),
        ("외국인 020315-5123456", "외국인 [RRN]"),
        ("카드 4111 1111 1111 1111 결제", "카드 [CARD] 결제"),
        ("card 5500-0000-0000-0004.", "card [CARD]."),
    ],
)
def test_known_forms_are_replaced_by_markers(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-15 에 12,000원 결제",  # dates and prices
        "version 1.2.3 at 10:30, 3 items, +10 points",
        "4111-1111-1111-1112",  # fails the Luhn check: not a card
        "991301-1234567",  # month 13: not a resident registration number
        "order #123456789",
        "the bearer of this letter",
        "sk-short",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_only_chosen_kinds_apply() -> None:
    text = "a@b.io 010-1234-5678 sk-abcdefghijklmnopqrst"
    assert Redactor(("emails",)).text(text) == "[EMAIL] 010-1234-5678 sk-abcdefghijklmnopqrst"
    assert Redactor(("phones", "api_keys")).text(text) == "a@b.io [PHONE] [API_KEY]"
    with pytest.raises(ValueError, match="unknown redaction"):
        Redactor(("faces",))


def test_json_values_keep_their_shape_and_images() -> None:
    image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"
    value = {"who": "kim@x.kr", "n": 3, "nested": [{"tel": "010-9999-8888"}, None, True], "photo": image}
    assert Redactor().value(value) == {
        "who": "[EMAIL]",
        "n": 3,
        "nested": [{"tel": "[PHONE]"}, None, True],
        "photo": image,
    }


def test_only_real_base64_image_urls_escape_redaction() -> None:
    assert Redactor().value("data:image/png;base64,AAAA+/==") == "data:image/png;base64,AAAA+/=="
    assert Redactor().value("data:image/png;base64,kim@x.kr") == "data:image/png;base64,[EMAIL]"
    assert Redactor().value("data:text/plain,010-1234-5678") == "data:text/plain,[PHONE]"


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111-1111")


# --- properties -----------------------------------------------------------------------------------

# Filler that cannot form any pattern: no digits, no @, no + or -, no letters that start key prefixes.
FILLER = st.text(alphabet="가나다라마바사 아자차카타파하 .,!?()" + "abcdefhijlmnopqrtuvwyz", max_size=30)


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it pass Luhn."""
    for digit in string.digits:
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")


emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.text(alphabet=string.ascii_lowercase + string.digits + "._", min_size=1, max_size=12).filter(
        lambda u: not u.startswith(".")
    ),
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=10),
    st.sampled_from(["com", "kr", "co.kr", "io"]),
)
phones = st.builds(
    lambda head, mid, tail, sep: f"{head}{sep}{mid}{sep}{tail}",
    st.sampled_from(["010", "011", "016", "019", "02", "031", "051", "070"]),
    st.integers(100, 9999).map(str),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    st.sampled_from(["-", " ", ".", ""]),
)
rrns = st.builds(
    lambda yy, mm, dd, g, rest: f"{yy:02d}{mm:02d}{dd:02d}-{g}{rest:06d}",
    st.integers(0, 99),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(1, 4),
    st.integers(0, 999_999),
)
# 16-digit cards (Visa, Mastercard, Discover, JCB) and 15-digit American Express, Luhn-valid.
card_numbers = st.sampled_from([("4", 16), ("51", 16), ("55", 16), ("6011", 16), ("35", 16), ("37", 15)]).flatmap(
    lambda spec: st.text(
        alphabet=string.digits, min_size=spec[1] - len(spec[0]) - 1, max_size=spec[1] - len(spec[0]) - 1
    ).map(lambda body: luhn_complete(spec[0] + body))
)
cards = st.builds(lambda number, sep: _group(number, sep), card_numbers, st.sampled_from(["", " ", "-"]))
keys = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=40).map(lambda s: "sk-" + s),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: "AKIA" + s),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=12, max_size=30).map(lambda s: "andon_sk_" + s),
)
SECRETS = {"emails": emails, "phones": phones, "rrn": rrns, "cards": cards, "api_keys": keys}


def _group(digits: str, sep: str) -> str:
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


@given(st.sampled_from(sorted(SECRETS)).flatmap(lambda k: st.tuples(st.just(k), SECRETS[k])), FILLER, FILLER)
def test_a_secret_inside_text_is_gone_and_marked(kind_secret: tuple[str, str], before: str, after: str) -> None:
    kind, secret = kind_secret
    text = f"{before} {secret} {after}"
    out = redact(text)
    assert secret not in out
    assert MARKERS[kind] in out
    assert out.startswith(before) and out.endswith(after)


@given(st.text(max_size=200))
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@given(FILLER)
def test_text_without_candidates_is_unchanged(text: str) -> None:
    assume("bearer" not in text.lower())
    assert redact(text) == text


@given(st.text(alphabet=string.digits, min_size=15, max_size=15))
def test_digit_runs_failing_luhn_are_not_cards(body: str) -> None:
    number = body + next(d for d in string.digits if not luhn_valid(body + d))
    assert "[CARD]" not in redact(f"no. {number} end")


@given(st.dictionaries(st.text(max_size=5), st.text(max_size=20), max_size=5))
def test_input_hash_ignores_key_order(variables: dict[str, str]) -> None:
    reordered = dict(reversed(list(variables.items())))
    assert input_hash(variables) == input_hash(reordered)


def test_hash_policy_keeps_structure_not_content() -> None:
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You review menus."}]},
        {"role": "user", "content": [{"type": "text", "text": "kim@x.kr"}, {"type": "image", "url": "data:x"}]},
    ]
    hashed = hash_messages(messages)
    assert [m["role"] for m in hashed] == ["system", "user"]
    assert hashed[1]["content"][0] == {"type": "text", "text": f"sha256:{sha256_text('kim@x.kr')}"}
    assert hashed[1]["content"][1]["url"] == f"sha256:{sha256_text('data:x')}"
    policy = StoragePolicy.of("hash", ["emails"])
    assert policy.input({"email": "kim@x.kr"}) is None
    assert policy.text("reply to kim@x.kr") == "reply to [EMAIL]"
    full = StoragePolicy.of("full", ["emails"])
    assert full.input({"email": "kim@x.kr"}) == {"email": "kim@x.kr"}
    assert full.messages(messages) is messages
