"""Redaction of secrets and personal data: known forms, Luhn, Korean text around them, and properties."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from re import _constants, _parser  # the parsed form of a pattern, to check its repeats
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from andon.config.schema import REDACTIONS
from andon.engine import pii as pii_module
from andon.gateway.redact import (
    MARKERS,
    MAX_FIELD_CHARS,
    RULES,
    TOO_LONG,
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


# --- issue 17 item 6: forms the patterns missed ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Fullwidth digits and signs (a Korean IME's full-width mode).
        ("전화 ０１０－１２３４－５６７８ 주세요", "전화 [PHONE] 주세요"),
        ("주민번호 ９００１０１－１２３４５６７", "주민번호 [RRN]"),
        ("카드 ４１１１ １１１１ １１１１ １１１１", "카드 [CARD]"),
        ("메일 ｋｉｍ＠ｅｘａｍｐｌｅ．ｃｏｍ 끝", "메일 [EMAIL] 끝"),
        # Hangul-spelled digits.
        ("번호는 공일공 일이삼사 오육칠팔로 연락", "번호는 [PHONE]로 연락"),
        ("번호 공일공-일이삼사-오육칠팔이에요", "번호 [PHONE]이에요"),
        ("서울 공이 일이삼 사오육칠", "서울 [PHONE]"),
        ("주민 구공공일공일 일이삼사오육칠", "주민 [RRN]"),
        # Dash look-alikes and invisible separators.
        ("010\u20101234\u20105678", "[PHONE]"),
        ("010\u20111234\u20115678", "[PHONE]"),
        ("010\u20131234\u20145678", "[PHONE]"),
        ("010\u22121234\u22125678", "[PHONE]"),
        ("900101\u20101234567", "[RRN]"),
        ("010\u200b-1234-\u200d5678 끝", "[PHONE] 끝"),
        ("4111\u20601111\ufeff1111\u00ad1111", "[CARD]"),
        ("k\u200bim@example.com", "[EMAIL]"),
        # Parenthesised area codes.
        ("(010) 1234-5678", "[PHONE]"),
        ("(02)123-4567 로", "[PHONE] 로"),
        # IDN and spelled-out e-mail addresses.
        ("메일 kim@예시.한국 로", "메일 [EMAIL] 로"),
        ("user@bücher.de", "[EMAIL]"),
        ("abc@naver.com입니다", "[EMAIL]입니다"),
        ("kim [at] example [dot] com", "[EMAIL]"),
        ("kim(at)example(dot)co(dot)kr", "[EMAIL]"),
        ("write to kim at example dot com today", "write to [EMAIL] today"),
        ("kim AT example DOT com", "[EMAIL]"),
        ("kim 골뱅이 naver 점 com 으로", "[EMAIL] 으로"),
        ("kim[at]example.com", "[EMAIL]"),
        # Keys: AWS temporary ids and secrets, Google API keys.
        ("id ASIAY34FZKBOKMUTVV7A", "id [API_KEY]"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[API_KEY]"),
        ("key=AIzaSyA-1234567890abcdefghijklmnopqrstu", "key=[API_KEY]"),
        ("sk-" + "a" * 300 + " end", "[API_KEY] end"),  # the whole key, however long
    ],
)
def test_gaps_of_issue_17_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "주문번호 2026-1201-0042 배송 완료",
        "가격 ₩12,000 (부가세 포함), 총 ₩1,234,000",
        "2026년 12월 1일, 2026.12.01, 2026-12-01, 12/01/2026",
        "운송장 612345678901 (CJ대한통운), 우체국 6865012345678",
        "version 2.10.4, v1.2.3-rc.1, build 20261201.4",
        "commit da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "see the docs at docs.python.org",
        "this app is great",
        "이 일은 사실 오래 걸려요, 일이 많아서",
        "수량 1~3개, 10:30~12:00",
    ],
)
def test_hard_negatives_stay_untouched(text: str) -> None:
    assert redact(text) == text


def test_only_the_original_span_is_replaced_the_rest_is_stored_as_sent() -> None:
    # Folding is for matching only: fullwidth punctuation, ellipses and emoji joiners around stay as they were.
    text = "전화：０１０－１２３４－５６７８ 주세요。… 👨\u200d👩\u200d👧 ｋｉｍ＠ｘ．ｋｒ！"
    assert redact(text) == "전화：[PHONE] 주세요。… 👨\u200d👩\u200d👧 [EMAIL]！"


def test_a_field_over_the_limit_is_replaced_whole() -> None:
    limited = Redactor(max_chars=100)
    assert limited.text("a" * 100) == "a" * 100
    assert limited.text("a" * 101 + " 010-1234-5678") == TOO_LONG
    assert limited.value({"text": "x" * 101, "n": 1}) == {"text": TOO_LONG, "n": 1}
    assert Redactor(()).text("x" * 101 + " 010-1234-5678").endswith("5678")  # nothing chosen: nothing to do
    assert Redactor().max_chars == MAX_FIELD_CHARS


def test_tags_have_keys_and_values_redacted_by_the_same_policy() -> None:
    tags = {"contact": "kim@x.kr", "010-1234-5678": "vip", "plan": "pro", "n": 3}
    expected = {"contact": "[EMAIL]", "[PHONE]": "vip", "plan": "pro", "n": 3}
    assert StoragePolicy.of("redacted", REDACTIONS).tags(tags) == expected
    assert StoragePolicy.of("hash", REDACTIONS).tags(tags) == expected
    assert StoragePolicy.of("full", REDACTIONS).tags(tags) == tags


# --- issue 17 item 2: linear time by construction ------------------------------------------------


def _repeats(tree: Any) -> Iterator[tuple[Any, int, int]]:
    """(opcode, min, max) of every repeat in a parsed pattern, nested ones included."""
    for op, arg in tree:
        if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT):
            low, high, body = arg
            yield op, low, high
            yield from _repeats(body)
        elif op in (_constants.SUBPATTERN, _constants.ATOMIC_GROUP):
            yield from _repeats(arg[-1])
        elif op == _constants.BRANCH:
            for branch in arg[1]:
                yield from _repeats(branch)
        elif op in (_constants.ASSERT, _constants.ASSERT_NOT):
            yield from _repeats(arg[1])


def _parsed(pattern: re.Pattern[str]) -> Any:
    return _parser.parse(pattern.pattern, pattern.flags)


def test_search_patterns_have_only_bounded_repeats() -> None:
    # Bounded repeats bound the work at each start position, so a search is linear in the text's length.
    for kind, rules in RULES.items():
        for rule in rules:
            for _op, _low, high in _repeats(_parsed(rule.pattern)):
                assert high <= 256, f"{kind}: {rule.pattern.pattern!r} has a repeat up to {high}"


def test_unbounded_repeats_are_possessive_and_anchored() -> None:
    # Tails are only matched at a found entity's end (``match``, never ``search``) and never backtrack.
    tails = [rule.tail for rules in RULES.values() for rule in rules if rule.tail is not None]
    for pattern in [*tails, pii_module._STRETCH]:
        for op, _low, high in _repeats(_parsed(pattern)):
            assert high <= 256 or op == _constants.POSSESSIVE_REPEAT, f"{pattern.pattern!r} can backtrack"


# --- properties over the new forms ------------------------------------------------------------------

_FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
_SPELLED = str.maketrans(dict(zip("0123456789", "공일이삼사오육칠팔구", strict=True)))
_LOOKALIKE_DASHES = ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\ufe63", "\uff0d"]
_INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


@st.composite
def disguised(draw: st.DrawFn, plain: str) -> str:
    """``plain`` as people and IMEs write it: fullwidth, dash look-alikes, invisible characters, spelled."""
    form = draw(st.sampled_from(["plain", "fullwidth", "dashes", "invisible", "spelled"]))
    if form == "fullwidth":
        return plain.translate(_FULLWIDTH)
    if form == "dashes":
        return plain.replace("-", draw(st.sampled_from(_LOOKALIKE_DASHES)))
    if form == "invisible":
        at = draw(st.integers(1, len(plain) - 1))
        return plain[:at] + draw(st.sampled_from(_INVISIBLES)) + plain[at:]
    if form == "spelled" and plain.replace("-", "").replace(" ", "").isdigit():
        return plain.translate(_SPELLED)
    return plain


spelled_emails = st.builds(
    lambda user, host, at, dot: f"{user}{at}{host}{dot}com",
    st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10),
    st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=10),
    st.sampled_from(["@", " [at] ", "(at)", " 골뱅이 ", "＠"]),
    st.sampled_from([".", " [dot] ", "(dot)", " 점 "]),
) | st.builds(lambda user, host: f"{user} at {host} dot com", *(2 * [st.sampled_from(["kim", "lee", "park"])]))
idn_emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8),
    st.text(alphabet="가나다라예시한국bücherdé", min_size=2, max_size=8),
    st.sampled_from(["한국", "com", "de", "kr"]),
)
new_keys = st.one_of(
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: "ASIA" + s),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=35, max_size=35).map(lambda s: "AIza" + s),
    st.tuples(st.text(alphabet=string.ascii_letters + string.digits + "/+", min_size=37, max_size=37)).map(
        lambda t: "aB3" + t[0]
    ),
)
POSITIVES = {
    "phones": st.one_of(phones, st.sampled_from(["(010) 1234-5678", "(02) 123-4567"])).flatmap(disguised),
    "rrn": rrns.flatmap(disguised),
    "cards": cards.flatmap(disguised),
    "emails": st.one_of(emails, spelled_emails, idn_emails),
    "api_keys": st.one_of(keys, new_keys),
}
# Surrounding text of every kind people write, digits and Korean included; a space keeps it apart.
SURROUNDING = st.text(alphabet="가나다라마바사 이일 abcxyzQ .,!?()：。…😀" + string.digits + "₩%", max_size=30)


@given(st.sampled_from(sorted(POSITIVES)).flatmap(lambda k: POSITIVES[k]), SURROUNDING, SURROUNDING)
def test_no_positive_survives_in_any_surrounding_text(secret: str, before: str, after: str) -> None:
    out = redact(f"{before} {secret} {after}")
    assert secret not in out
    assert any(marker in out for marker in MARKERS.values())


order_numbers = st.builds(lambda y, n: f"{y}-{n:04d}-{n % 97:04d}", st.integers(2020, 2030), st.integers(0, 9999))
prices = st.integers(100, 9_999_999).map(lambda n: f"₩{n:,}") | st.integers(1, 99_999).map(lambda n: f"{n:,}원")
dates = st.builds(
    lambda y, m, d, f: f.format(y=y, m=m, d=d),
    st.integers(2000, 2030),
    st.integers(1, 12),
    st.integers(1, 28),
    st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}.{m:02d}.{d:02d}", "{y}년 {m}월 {d}일", "{m:02d}/{d:02d}/{y}"]),
)
tracking = st.integers(10**11, 10**12 - 1).map(str)  # 12-digit parcel numbers
versions = st.builds(lambda a, b, c: f"v{a}.{b}.{c}", st.integers(0, 30), st.integers(0, 99), st.integers(0, 999))
HARD_NEGATIVES = st.one_of(order_numbers, prices, dates, tracking, versions)


@given(HARD_NEGATIVES, FILLER, FILLER)
def test_hard_negatives_stay_untouched_in_any_text(negative: str, before: str, after: str) -> None:
    assume("bearer" not in (before + after).lower())
    text = f"{before} {negative} {after}"
    assert redact(text) == text


@given(st.one_of(st.text(max_size=200), st.sampled_from(sorted(POSITIVES)).flatmap(lambda k: POSITIVES[k])))
def test_redaction_of_any_text_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once
