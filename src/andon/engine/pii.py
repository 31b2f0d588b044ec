"""Detectors of secrets and personal data in text: keys, e-mails, phones, RRNs, cards (and, opt-in, addresses).

``find_entities`` gives the (start, end, kind) of every entity. Kinds run in a fixed order (keys, emails,
resident registration numbers, cards, phones) so a longer number is never half-eaten by a shorter pattern.
Two users share them: ``andon.gateway.redact`` (markers in what is stored) and ``andon.engine.masking``
(numbered placeholders in what is sent to a model).

Matching runs on a folded copy of the text (``fold``): NFKC (fullwidth digits and signs become ASCII),
zero-width and other invisible characters dropped, dash, dot and space look-alikes made ASCII, and runs
of Hangul-spelled digits (공일공 일이삼사 …) read as digits. Every folded character remembers the original
character it came from, so spans are offsets into the ORIGINAL text.

Linear time by construction: every search pattern has only bounded repeats, so the work at each start
position is bounded by a constant of the pattern and a search costs O(length). The one unbounded thing,
the rest of a long key, is eaten by an anchored possessive tail pattern once per key, over disjoint
stretches. ``tests/gateway/test_redact.py`` walks the parsed patterns to keep it so.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from andon.config.schema import REDACTIONS
from andon.engine.pii_korean import ADDRESS, region_named

MARKERS: dict[str, str] = {
    "api_keys": "[API_KEY]",
    "emails": "[EMAIL]",
    "rrn": "[RRN]",
    "cards": "[CARD]",
    "phones": "[PHONE]",
    "addresses": "[ADDRESS]",
}
ORDER = ("api_keys", "emails", "rrn", "cards", "phones", "addresses")
BLANK = "\x00"  # stands in for a found entity while later kinds search; no pattern matches it

_A = re.ASCII  # word and digit classes mean ASCII only, so Korean text right before a number is a boundary

# --- folding: the copy patterns run on ----------------------------------------------------------------

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u02d7\u2796\ufe58\ufe63\uff0d\u2e3a\u2e3b"
_DOTS = "\u00b7\u2024\u2027\u2219\u22c5\u30fb\uff65\u3002\uff61"
# Invisible characters that are not format (Cf) characters: Hangul fillers and the combining grapheme joiner.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0\u17b4\u17b5")
_HANGUL_DIGITS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4",
                  "오": "5", "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9"}  # fmt: skip
_HANGUL_DIGIT_CLASS = "".join(_HANGUL_DIGITS)
# A stretch of digits, ASCII or Hangul, with single separators: the lookbehind lets a stretch start only
# at its first member and the possessive repeat never backtracks, so every character is read once.
_STRETCH = re.compile(
    rf"(?<![0-9{_HANGUL_DIGIT_CLASS}])[0-9{_HANGUL_DIGIT_CLASS}](?:[ .-]?[0-9{_HANGUL_DIGIT_CLASS}])*+"
)
_HANGUL_DIGIT = re.compile(f"[{_HANGUL_DIGIT_CLASS}]")
MIN_SPELLED_DIGITS = 3  # fewer Hangul digit syllables in a stretch are ordinary words (이, 일, 사 …)
_TO_DIGITS = str.maketrans(_HANGUL_DIGITS)


@functools.lru_cache(maxsize=65536)
def _fold_char(char: str, invisible: str) -> str:
    """What one non-ASCII character becomes for matching (``invisible`` when it cannot be seen)."""
    if char in _INVISIBLE or unicodedata.category(char) == "Cf":
        return invisible  # zero-width spaces and joiners, soft hyphens, bidi marks
    if unicodedata.category(char) == "Mn" and unicodedata.combining(char) == 0:
        return invisible  # variation selectors and other invisible marks
    out = []
    for part in unicodedata.normalize("NFKC", char):
        if part in _DASHES or (unicodedata.category(part) == "Pd" and part not in "\u301c\u3030"):
            out.append("-")  # wave dashes stay: they mean "to" (1~3), not a separator
        elif part in _DOTS:
            out.append(".")
        elif unicodedata.category(part) == "Zs":
            out.append(" ")
        else:
            out.append(part)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Folded:
    """A folded copy of a text, and the way back from its offsets to the original's."""

    text: str
    # (folded start, original index, folded length) of each character whose folded form is not exactly
    # one character (dropped ones have length 0); every other character maps one to one.
    anchors: tuple[tuple[int, int, int], ...] = ()
    starts: tuple[int, ...] = ()  # the anchors' folded starts, for bisection

    def original(self, position: int) -> int:
        """The index of the original character that folded character ``position`` came from."""
        at = bisect.bisect_right(self.starts, position) - 1
        if at < 0:
            return position
        start, index, length = self.anchors[at]
        return index if position < start + length else index + 1 + (position - start - length)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)`` (``end > start``)."""
        return self.original(start), self.original(end - 1) + 1


def fold(text: str, invisible: str = "") -> Folded:
    """``text`` as the patterns see it: NFKC, look-alikes and fullwidth made ASCII, invisible characters
    replaced by ``invisible`` (dropped by default)."""
    if text.isascii():
        return Folded(text)
    one: dict[int, str] = {}
    multi: dict[str, str] = {}
    for char in set(text):
        if char.isascii():
            continue
        folded = _fold_char(char, invisible)
        if folded == char:
            continue
        if len(folded) == 1:
            one[ord(char)] = folded
        else:
            multi[char] = folded
    anchors: tuple[tuple[int, int, int], ...] = ()
    if multi:
        odd = re.compile("[" + "".join(re.escape(char) for char in multi) + "]")
        indices = [match.start() for match in odd.finditer(text)]
        lengths = [len(multi[text[index]]) for index in indices]
        # Each odd character moves the folded offsets after it by (its folded length - 1).
        shifts = itertools.accumulate((length - 1 for length in lengths), initial=0)
        starts = [i + d for i, d in zip(indices, shifts, strict=False)]  # shifts has one more item
        anchors = tuple(zip(starts, indices, lengths, strict=True))
        text = odd.sub(lambda match: multi[match.group(0)], text)
    folded_text = text.translate(one) if one else text
    return Folded(folded_text, anchors, tuple(start for start, _, _ in anchors))


def _spelled(text: str) -> list[str]:
    """Readings of ``text`` with stretches of at least three Hangul digit syllables read as digits.

    The first reading takes every such syllable as a digit; a second one, when some stretch ends in 이,
    keeps that 이 a letter: in "…오육칠팔이에요" it is the particle, not 2. No stretch: ``[text]``.
    """
    if sum(map(text.count, _HANGUL_DIGITS)) < MIN_SPELLED_DIGITS:
        return [text]
    digits: list[str] = []
    particle: list[str] = []
    last = 0
    ends_in_particle = False
    for match in _STRETCH.finditer(text):
        stretch = match.group(0)
        if len(_HANGUL_DIGIT.findall(stretch)) < MIN_SPELLED_DIGITS:
            continue
        start, end = match.span()
        before = text[last:start]
        digits += (before, stretch.translate(_TO_DIGITS))
        if stretch.endswith("이"):
            ends_in_particle = True
            particle += (before, stretch[:-1].translate(_TO_DIGITS), "이")
        else:
            particle += (before, digits[-1])
        last = end
    if not digits:
        return [text]
    readings = ["".join([*digits, text[last:]])]
    if ends_in_particle:
        readings.append("".join([*particle, text[last:]]))
    return readings


# --- the patterns ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    """A search pattern; ``check`` turns a match into the span to replace (None: not an entity)."""

    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], tuple[int, int] | None] | None = None
    tail: re.Pattern[str] | None = None  # anchored at the span's end: the rest of the entity


def _whole(match: re.Match[str]) -> tuple[int, int]:
    return match.span()


def _secret(match: re.Match[str]) -> tuple[int, int]:
    return match.span("secret")


_KEY_TAIL = re.compile(r"[A-Za-z0-9_-]*+", _A)
_KEYS = _Rule(
    re.compile(
        r"(?<![A-Za-z0-9_-])(?:"
        r"andon_sk_[A-Za-z0-9_-]{8}"  # our own gateway keys
        r"|sk-[A-Za-z0-9_-]{16}"  # OpenAI, Anthropic (sk-ant-…), most OpenAI-compatible hosts
        r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16}"  # Stripe secret and restricted keys
        r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key ids, long-term and temporary (STS)
        r"|AIza[0-9A-Za-z_-]{35}"  # Google API keys
        r"|gh[pousr]_[A-Za-z0-9]{30}"  # GitHub tokens
        r"|github_pat_[A-Za-z0-9_]{22}"  # GitHub fine-grained tokens
        r"|xox[abprs]-[A-Za-z0-9-]{10}"  # Slack tokens
        r")",
        _A,
    ),
    tail=_KEY_TAIL,
)


def _aws_secret(match: re.Match[str]) -> tuple[int, int] | None:
    # 40 characters of base64 mixing cases and digits; lowercase hex (a sha1, a git commit) is not one.
    token = match.group(0)
    mixed = any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token)
    return match.span() if mixed else None


_AWS_SECRET = _Rule(re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", _A), _aws_secret)
# The word "Bearer" stays so a reader still sees that a credential was there.
_BEARER = _Rule(
    re.compile(r"(?i)\bbearer[ \t]{1,8}(?P<secret>[A-Za-z0-9\-._~+/]{16})", _A),
    _secret,
    re.compile(r"[A-Za-z0-9\-._~+/]*+=*+", _A),
)

# E-mail addresses, also spelled out: kim [at] example [dot] com, kim at example dot com, kim 골뱅이 naver 점 com.
_LOCAL = r"(?:(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}+|(?<![\w.%+-])[^\W\d_A-Za-z]{1,64}+)"
_LABEL = r"[^\W_][\w-]{0,62}+"  # Unicode letters too: IDN domains (예시.한국, bücher.de)
_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT_SIGN = rf"(?:@|[ ]{{0,3}}{_OPEN}[ ]{{0,3}}(?i:at)[ ]{{0,3}}{_CLOSE}[ ]{{0,3}}|[ ]{{0,3}}골뱅이[ ]{{0,3}})"
_AT_WORD = r"[ ]{1,3}(?i:at)[ ]{1,3}"
_DOT_SPELLED = (
    rf"(?:[ ]{{0,3}}{_OPEN}[ ]{{0,3}}(?i:dot|점)[ ]{{0,3}}{_CLOSE}[ ]{{0,3}}|[ ]{{1,3}}(?:(?i:dot)|점|닷)[ ]{{1,3}})"
)
_DOT_ANY = rf"(?:\.|{_DOT_SPELLED})"
# The top-level domain ends the address: ASCII letters (com입니다: the address ends at com) or a run of
# letters of another script (한국, рф).
_TLD = r"(?:[A-Za-z]{2,63}+(?![A-Za-z0-9-])|[^\W\d_A-Za-z][^\W\d_]{1,62}+)"
# "docs at python.org" is prose: a spelled-out "at" counts only with a spelled-out dot.
_EMAIL_PATTERN = re.compile(
    rf"{_LOCAL}(?:{_AT_SIGN}{_LABEL}(?:{_DOT_ANY}{_LABEL}){{0,8}}{_DOT_ANY}{_TLD}"
    rf"|{_AT_WORD}{_LABEL}(?:{_DOT_SPELLED}{_LABEL}){{0,8}}{_DOT_SPELLED}{_TLD})"
)
_EMAILS = _Rule(_EMAIL_PATTERN)

# YYMMDD-GNNNNNN: a real month and day, then the gender/century digit (1-4 citizens, 5-8 foreign residents).
_RRN = _Rule(re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?-? ?[1-8]\d{6}(?!\d)", _A))

# Card numbers as people write them: 13-19 digits in one run, or in groups of four (the last shorter),
# or 4-6-5 / 4-6-4 (American Express, Diners). Replaced only when the Luhn check passes.
_CARD = re.compile(
    r"(?<![\d-])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,4}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5})(?!\d)", _A
)
_GROUP = re.compile(r"\d+", _A)


_DOUBLED = str.maketrans("0123456789", "0246813579")  # a digit doubled, its two digits summed


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment card numbers."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    # From the right: digits at even offsets count as they are, those at odd offsets doubled.
    total = sum(map(int, digits[-1::-2])) + sum(map(int, digits[-2::-2].translate(_DOUBLED)))
    return total % 10 == 0


_CARD_LEADS = {13: "4", 14: "3", 15: "123"}


def _card_number(digits: str) -> bool:
    """Luhn-valid and of a length its first digit allows (13: Visa, 14: Diners, 15: Amex and UATP)."""
    return 13 <= len(digits) <= 19 and digits[0] in _CARD_LEADS.get(len(digits), digits[0]) and luhn_valid(digits)


def _card(match: re.Match[str]) -> tuple[int, int] | None:
    text = match.group(0)
    digits = text.replace(" ", "").replace("-", "")
    if _card_number(digits):
        return match.span()
    # Shorter runs of groups: "1234 4111 1111 1111 1111" still hides a card.
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(text)]
    offsets = list(itertools.accumulate((end - start for start, end in groups), initial=0))
    for first in range(len(groups)):
        for last in range(len(groups) - 1, first - 1, -1):
            if 13 <= offsets[last + 1] - offsets[first] <= 19 and _card_number(
                digits[offsets[first] : offsets[last + 1]]
            ):
                return match.start() + groups[first][0], match.start() + groups[last][1]
    return None


_CARDS = _Rule(_CARD, _card)

_SEP = r"(?: ?[.-] ?| )?"
_KR_AREA = r"0(?:1[016789]|2|[3-6][1-5]|50[2-8]?|70|80)"


def _international(match: re.Match[str]) -> tuple[int, int] | None:
    digits = sum(char.isdigit() for char in match.group(0))
    return match.span() if 8 <= digits <= 15 else None


_PHONES = (
    # International form: +CC then digit groups (+82 10-1234-5678, +1 (415) 555-0100); 8-15 digits in all.
    _Rule(re.compile(r"(?<![A-Za-z0-9+])\+\d{1,3}+(?:[ .-]?\(?\d{1,5}+\)?){1,6}+(?!\d)", _A), _international),
    # Korean numbers: mobile 010/011/016-019, Seoul 02, regional 0xx, 050x/070 virtual, 080 toll-free;
    # the prefix may be in parentheses: (010) 1234-5678, (02)123-4567.
    _Rule(re.compile(rf"(?<![A-Za-z0-9])(?:\({_KR_AREA}\)|{_KR_AREA}){_SEP}\d{{3,4}}{_SEP}\d{{4}}(?!\d)", _A)),
    # Korean numbers with the country code but no plus: 82-10-1234-5678.
    _Rule(re.compile(r"(?<![A-Za-z0-9])82[ .-]0?(?:1[016789]|2|[3-6][1-5]|70)[ .-]?\d{3,4}[ .-]?\d{4}(?!\d)", _A)),
    # Nationwide service numbers such as 1588-1234 (card companies, banks, delivery).
    _Rule(re.compile(r"(?<![A-Za-z0-9-])1[5-9]\d{2}-\d{4}(?![\d-])", _A)),
    # North American numbers with separators: (415) 555-0100, 415-555-0100.
    _Rule(re.compile(r"(?<![A-Za-z0-9)])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\d-])", _A)),
)

RULES: dict[str, tuple[_Rule, ...]] = {
    "api_keys": (_KEYS, _AWS_SECRET, _BEARER),
    "emails": (_EMAILS,),
    "rrn": (_RRN,),
    "cards": (_CARDS,),
    "phones": _PHONES,
    # Korean postal addresses (opt-in): after phones, so a phone number is never read as a building number.
    "addresses": (_Rule(ADDRESS, region_named),),
}


def _find(rule: _Rule, text: str) -> Iterator[tuple[int, int]]:
    """Spans of ``rule``'s entities in ``text``, left to right, never overlapping."""
    position = 0
    while (match := rule.pattern.search(text, position)) is not None:
        span = (rule.check or _whole)(match)
        if span is None:
            position = match.end() if match.end() > match.start() else match.start() + 1
            continue
        start, end = span
        if rule.tail is not None:
            tail = rule.tail.match(text, end)
            end = tail.end() if tail is not None else end
        yield start, end
        position = max(end, match.end())


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    last = 0
    for start, end in sorted(spans):
        pieces.append(text[last:start])
        pieces.append(BLANK * (end - start))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _search(text: str, kinds: Iterable[str], found: list[tuple[int, int, str]]) -> str:
    """Add the spans of ``kinds`` in ``text`` to ``found`` (in ORDER, each kind blanking what it took)."""
    for kind in ORDER:
        if kind not in kinds:
            continue
        for rule in RULES[kind]:
            spans = list(_find(rule, text))
            if spans:
                found.extend((start, end, kind) for start, end in spans)
                text = _blank(text, spans)
    return text


def find_entities(text: str, kinds: Iterable[str] = REDACTIONS) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every entity of ``kinds`` in ``text``, as offsets into ``text`` itself.

    Where a text can be read two ways, both readings are searched and what either finds is taken: an
    invisible character joins ("k\u200bim@…") or separates ("번호\u200b010…"); a spelled number's last
    이 is a digit or a particle.
    """
    chosen = frozenset(kinds)
    readings = [fold(text)]
    if any(length == 0 for _, _, length in readings[0].anchors):
        readings.append(fold(text, invisible=" "))
    spans: list[tuple[int, int, str]] = []
    for folded in readings:
        for reading in _spelled(folded.text):
            found: list[tuple[int, int, str]] = []
            _search(reading, chosen, found)
            spans.extend((*folded.span(start, end), kind) for start, end, kind in found)
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans):
        if merged and start < merged[-1][1]:
            previous = merged[-1]
            merged[-1] = (previous[0], max(previous[1], end), previous[2])
        else:
            merged.append((start, end, kind))
    return merged
