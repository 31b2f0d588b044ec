"""Korean particles chosen for the word before them: 이/가, 은/는, 을/를, 와/과, (으)로 …

Korean writes ``v1-plain과 v2-rules를`` but ``모델과 버전을``: the particle depends on whether the preceding
word, as read aloud, ends in a consonant (받침). Catalogue entries write ``{name:이/가}`` and the formatter
appends the right form, so no message shows the templated ``이(가)``.

>>> attach("v2-rules", "이/가"), attach("모델", "을/를"), attach("7", "으로/로"), attach("서울", "으로/로")
('v2-rules가', '모델을', '7로', '서울로')
"""

from __future__ import annotations

# (form after a consonant, form after a vowel), keyed by how catalogue entries write them.
PARTICLES: dict[str, tuple[str, str]] = {
    "이/가": ("이", "가"),
    "은/는": ("은", "는"),
    "을/를": ("을", "를"),
    "와/과": ("과", "와"),
    "과/와": ("과", "와"),
    "이랑/랑": ("이랑", "랑"),
    "으로/로": ("으로", "로"),
    "이에요/예요": ("이에요", "예요"),
    "이다/다": ("이다", "다"),
}

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_FINAL = 8  # jongseong index of ㄹ: (으)로 treats it like a vowel (서울로, not 서울으로)

# How a final digit is read: 일, 이, 삼 … (True = ends in a consonant; ``ㄹ`` marks a final ㄹ).
_DIGITS = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
# Latin letters read with a final consonant when they end a word: 엘, 엠, 엔, 알 (others: 에이, 비, 스 …).
_LATIN = {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}


def _final(word: str) -> str:
    """The final consonant of ``word`` as read ('' after a vowel, 'ㄹ' for ㄹ, another mark otherwise)."""
    for char in reversed(word):
        code = ord(char)
        if _HANGUL_FIRST <= code <= _HANGUL_LAST:
            jong = (code - _HANGUL_FIRST) % 28
            return "" if jong == 0 else ("ㄹ" if jong == _RIEUL_FINAL else "ㅂ")
        if char.isdigit() and char in _DIGITS:
            return _DIGITS[char]
        if char.isascii() and char.isalpha():
            return _LATIN.get(char.lower(), "")
    return ""


def attach(word: str, particle: str) -> str:
    """``word`` followed by the form of ``particle`` (e.g. ``"을/를"``) that fits how it ends."""
    after_consonant, after_vowel = PARTICLES[particle]
    final = _final(word)
    consonant = bool(final) and not (particle == "으로/로" and final == "ㄹ")
    return word + (after_consonant if consonant else after_vowel)
