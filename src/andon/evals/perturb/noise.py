"""Noise a Korean user makes while typing: word spacing (띄어쓰기), typos, and jamo errors (맞춤법)."""

from __future__ import annotations

import random
from typing import ClassVar

from andon.evals.perturb.base import TextPerturbation
from andon.evals.perturb.hangul import (
    FINAL_IEUNG,
    FINAL_TO_INITIAL,
    INITIAL_IEUNG,
    Syllable,
    compose,
    decompose,
    is_syllable,
)

__all__ = ["JamoNoise", "SpacingNoise", "TypoNoise", "jamo_errors", "respace", "typos"]

# Vowels written for one another because they sound alike (ㅐ/ㅔ, ㅒ/ㅖ, ㅙ/ㅞ/ㅚ, 의 → 이).
VOWEL_CONFUSIONS = {1: 5, 5: 1, 3: 7, 7: 3, 10: 15, 15: 10, 11: 10, 19: 20}


def _count(rate: float, places: int) -> int:
    return min(places, max(1, round(rate * places))) if places else 0


def respace(value: str, rng: random.Random, rate: float = 0.15) -> str:
    """Drop some spaces between Hangul words and put some inside them; the letters stay as they were."""
    removable = [("drop", i) for i in range(1, len(value) - 1) if value[i] == " " and is_syllable(value[i - 1])
                 and is_syllable(value[i + 1])]  # fmt: skip
    insertable = [("add", i) for i in range(1, len(value)) if is_syllable(value[i - 1]) and is_syllable(value[i])]
    places = removable + insertable
    chars = list(value)
    # Right to left, so an edit never moves the places still to be edited.
    for kind, i in sorted(rng.sample(places, _count(rate, len(places))), key=lambda p: p[1], reverse=True):
        if kind == "drop":
            del chars[i]
        else:
            chars.insert(i, " ")
    return "".join(chars)


def typos(value: str, rng: random.Random, rate: float = 0.05) -> str:
    """Swap two neighbouring letters, type one twice, or miss one, at a few places in words."""
    letters = [i for i, c in enumerate(value) if c.isalnum()]
    chars = list(value)
    for i in sorted(rng.sample(letters, _count(rate, len(letters))), reverse=True):
        kind = rng.choice(("swap", "double", "miss"))
        if kind == "swap" and i + 1 < len(chars) and chars[i + 1].isalnum() and chars[i + 1] != chars[i]:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif kind == "miss" and len(chars) > 1 and (i > 0 and chars[i - 1].isalnum()):
            del chars[i]  # only inside a word, so no word disappears
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def _jamo_places(chars: list[str]) -> list[tuple[str, int]]:
    places: list[tuple[str, int]] = []
    for i, c in enumerate(chars):
        if not is_syllable(c):
            continue
        s = decompose(c)
        if s.vowel in VOWEL_CONFUSIONS:
            places.append(("vowel", i))
        nxt = chars[i + 1] if i + 1 < len(chars) else ""
        if s.final in FINAL_TO_INITIAL and is_syllable(nxt) and decompose(nxt).initial == INITIAL_IEUNG:
            places.append(("liaison", i))  # 먹어 → 머거: written as heard
        elif s.final in FINAL_TO_INITIAL or s.final == FINAL_IEUNG:
            places.append(("final", i))  # a single final only: 앉 losing ㄵ whole would be no slip of a key
    return places


def jamo_errors(value: str, rng: random.Random, rate: float = 0.1) -> str:
    """Misspell a few syllables the way they sound: a confused vowel, a liaison written out, a final dropped."""
    chars = list(value)
    places = _jamo_places(chars)
    for kind, i in sorted(rng.sample(places, _count(rate, len(places))), key=lambda p: p[1], reverse=True):
        s = decompose(chars[i])
        if kind == "vowel":
            chars[i] = compose(s._replace(vowel=VOWEL_CONFUSIONS[s.vowel]))
        elif kind == "liaison":
            after = decompose(chars[i + 1])
            if s.final in FINAL_TO_INITIAL and after.initial == INITIAL_IEUNG:
                chars[i] = compose(s._replace(final=0))
                chars[i + 1] = compose(Syllable(FINAL_TO_INITIAL[s.final], after.vowel, after.final))
        elif s.final:
            chars[i] = compose(s._replace(final=0))
    return "".join(chars)


class SpacingNoise(TextPerturbation):
    """``spacing``: Korean word-spacing noise (``rate`` of the places, default 0.15)."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields", "rate"})

    def text(self, value: str, rng: random.Random) -> str:
        """``value`` respaced."""
        return respace(value, rng, self.settings.rate or 0.15)


class TypoNoise(TextPerturbation):
    """``typo``: swapped, doubled and missed letters (``rate`` of the letters, default 0.05)."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields", "rate"})

    def text(self, value: str, rng: random.Random) -> str:
        """``value`` with typos."""
        return typos(value, rng, self.settings.rate or 0.05)


class JamoNoise(TextPerturbation):
    """``jamo``: syllables misspelt as they sound (``rate`` of the places, default 0.1)."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields", "rate"})

    def text(self, value: str, rng: random.Random) -> str:
        """``value`` with jamo errors."""
        return jamo_errors(value, rng, self.settings.rate or 0.1)
