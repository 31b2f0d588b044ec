"""Register change: sentence endings rewritten between polite speech (-요, -습니다) and casual speech (반말).

Rule-based, on the last word of each sentence only; an ending the rules do not know is left as it is, so the
meaning never changes, only how politely it is said.
"""

from __future__ import annotations

import random
import re
from typing import ClassVar

from andon.evals.perturb.base import TextPerturbation
from andon.evals.perturb.hangul import compose, decompose, is_syllable

__all__ = ["RegisterChange", "change_register", "to_casual", "to_polite"]

# A sentence's last word: Hangul followed by sentence punctuation, or by the end of the text.
_LAST_WORD = re.compile(r"[가-힣]+(?=[.?!…~]+|\s*$)")
_A, _EO, _AE, _WA, _WEO, _WAE, _YEO, _E, _O, _U, _EU, _I, _OE = 0, 4, 1, 9, 14, 10, 6, 5, 8, 13, 18, 20, 11
_OPEN = {_A, _EO, _AE, _WA, _WEO, _WAE, _YEO, _E}  # vowels a casual ending may stop on (해, 가, 있어, 봐 …)
_FINAL_B, _FINAL_N = 17, 4
_POLITE_AFTER = ("네", "지", "군", "거든", "는데", "고", "나", "래", "대")  # -네요, -거든요 …: drop 요


def _vowel(syllable: str) -> int:
    return decompose(syllable).vowel if is_syllable(syllable) else -1


def _open(syllable: str) -> bool:
    """True when a casual ending may stop on ``syllable``: an open vowel and no final consonant (해, 있어, 봐)."""
    return is_syllable(syllable) and decompose(syllable).final == 0 and _vowel(syllable) in _OPEN


def _harmony(stem: str) -> str:
    """아 or 어 after ``stem``: 아 after ㅏ/ㅗ (좋아), 어 after the rest and after 았/었/겠 (있어, 먹었어)."""
    last = stem[-1]
    if last in "았었겠였":
        return "어"
    return "아" if _vowel(last) in (_A, _O) else "어"


def _casual_of_b(syllable: str) -> str:
    """The casual form of a syllable before ㅂ니다, ㅂ removed: 하 → 해, 가 → 가, 보 → 봐, 쓰 → 써, 마시 → 마셔."""
    if syllable == "하":
        return "해"
    if syllable == "되":
        return "돼"
    s = decompose(syllable)
    shifted = {_O: _WA, _U: _WEO, _EU: _EO, _I: _YEO}.get(s.vowel)
    if s.vowel in (_A, _EO, _AE, _E, _YEO):
        return syllable
    return compose(s._replace(vowel=shifted)) if shifted is not None else syllable + "어"


def to_casual(word: str) -> str:
    """One polite sentence-final word in casual speech (합니다 → 해, 있어요 → 있어); unknown endings unchanged."""
    if word.endswith("습니다") and len(word) > 3:
        stem = word[:-3]
        return stem + _harmony(stem)
    if word.endswith("니다") and len(word) > 2 and decompose(word[-3]).final == _FINAL_B:
        base = compose(decompose(word[-3])._replace(final=0))
        if base == "이":
            return word[:-3] + "이야"
        return word[:-3] + _casual_of_b(base)
    if word.endswith("죠") and len(word) > 1:
        return word[:-1] + "지"  # 좋죠 → 좋지
    if word.endswith("요") and len(word) > 1:
        stem = word[:-1]
        if stem.endswith("이에"):
            return stem[:-1] + "야"
        if stem.endswith("예"):
            return stem[:-1] + "야"
        if stem.endswith("세"):
            return word  # -세요 asks politely for something: 반말 has no one form for it
        if _open(stem[-1]) or stem.endswith(_POLITE_AFTER):
            return stem
    return word


def to_polite(word: str) -> str:
    """One casual sentence-final word in polite speech (한다 → 합니다, 있어 → 있어요); unknown endings unchanged."""
    if word.endswith("다") and len(word) > 1 and is_syllable(word[-2]):
        stem = word[:-1]
        last = decompose(stem[-1])
        if stem.endswith("는") and len(stem) > 1:
            return stem[:-1] + "습니다"  # 먹는다 → 먹습니다
        if last.final == 0:
            return stem[:-1] + compose(last._replace(final=_FINAL_B)) + "니다"  # 크다 → 큽니다, 이다 → 입니다
        if last.final == _FINAL_N:
            return stem[:-1] + compose(last._replace(final=_FINAL_B)) + "니다"  # 한다 → 합니다
        return stem + "습니다"
    if word == "아니야":
        return "아니에요"
    if word.endswith("이야") and len(word) > 2:
        return word[:-1] + "에요"  # 책이야 → 책이에요
    if word.endswith("야") and len(word) > 1:
        return word[:-1] + "예요"  # 사과야 → 사과예요
    if word.endswith("지") and len(word) > 1:
        return word[:-1] + "죠"
    if word.endswith("요"):
        return word
    if _open(word[-1]) or word.endswith(_POLITE_AFTER):
        return word + "요"
    return word


def _is_polite(word: str) -> bool:
    return word.endswith(("요", "니다"))


def change_register(value: str, to: str = "auto") -> str:
    """``value`` with each sentence's ending in ``to`` (polite, casual, or auto: the register it is not in)."""
    words = _LAST_WORD.findall(value)
    if to == "auto":
        to = "casual" if any(_is_polite(w) for w in words) else "polite"
    change = to_casual if to == "casual" else to_polite
    return _LAST_WORD.sub(lambda m: change(m.group(0)), value)


class RegisterChange(TextPerturbation):
    """``register``: polite ↔ casual sentence endings (``to``: auto, polite or casual; default auto)."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields", "to"})

    def text(self, value: str, rng: random.Random) -> str:
        """``value`` in the other register (no randomness: the rules say how)."""
        return change_register(value, self.settings.to or "auto")
